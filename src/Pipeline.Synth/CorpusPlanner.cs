namespace Pipeline.Synth;

/// <summary>
/// Decides the whole corpus before anything is written: which species, how many train/val/test images each, every
/// image's id, size, file name and boxes. Runs in one thread; all randomness is keyed by (seed, image id) or
/// (seed, super-class), so the plan is a pure function of the options.
/// </summary>
internal static class CorpusPlanner
{
    // CC licences as the release lists them; iNaturalist observers mostly choose BY-NC
    internal static readonly (int Id, string Name, string Url, double Cumulative)[] Licenses =
    [
        (1, "Attribution-NonCommercial License", "http://creativecommons.org/licenses/by-nc/4.0/", 0.62),
        (2, "Attribution License", "http://creativecommons.org/licenses/by/4.0/", 0.72),
        (3, "Attribution-NonCommercial-ShareAlike License", "http://creativecommons.org/licenses/by-nc-sa/4.0/", 0.83),
        (4, "Attribution-ShareAlike License", "http://creativecommons.org/licenses/by-sa/4.0/", 0.88),
        (5, "Attribution-NonCommercial-NoDerivs License", "http://creativecommons.org/licenses/by-nc-nd/4.0/", 0.96),
        (6, "Attribution-NoDerivs License", "http://creativecommons.org/licenses/by-nd/4.0/", 1.00),
    ];

    /// <summary>Distinct synthetic rights holders (iNat2017 images came from about 10^4 observers).</summary>
    internal const int Observers = 20_000;

    public static CorpusPlan Plan(SynthOptions options, IProgress<SynthProgress>? progress = null)
    {
        options.Validate();
        IReadOnlyList<SuperClassFacts> table = PaperTable2.SuperClasses;
        List<Species>[] speciesBySuperClass = GroupSpecies(table);

        var classes = new List<PlannedClass>();
        var summaries = new SuperClassSummary[table.Count];
        var boxTargets = new int[table.Count];
        for (int k = 0; k < table.Count; k++)
        {
            SuperClassFacts facts = table[k];
            RankCounts full = LongTailModel.ForSuperClass(k);
            int chosen = Math.Max(1, LongTailModel.RoundHalfUp(facts.Classes * options.Scale));
            int trainTarget = Math.Max(chosen * options.MinTrainImagesPerClass, LongTailModel.RoundHalfUp(facts.TrainImages * options.Scale));
            int valTarget = Math.Max(chosen, LongTailModel.RoundHalfUp(facts.ValImages * options.Scale));

            // evenly spaced ranks keep the shape of the full long tail in a small sample of classes
            var trainWeights = new double[chosen];
            var valWeights = new double[chosen];
            var ranks = new int[chosen];
            for (int j = 0; j < chosen; j++)
            {
                ranks[j] = (int)((j + 0.5) * facts.Classes / chosen);
                trainWeights[j] = Math.Max(0, full.Train[ranks[j]] - options.MinTrainImagesPerClass);
                valWeights[j] = full.Val[ranks[j]] - 1;
            }

            int[] train = Apportion.Proportional(trainTarget, trainWeights, options.MinTrainImagesPerClass);
            int[] val = Apportion.Proportional(valTarget, valWeights, 1);
            int[] speciesOfRank = ShuffledIndices(speciesBySuperClass[k].Count, SynthRandom.For(options.Seed, k, RandomStreams.Species));
            for (int j = 0; j < chosen; j++)
                classes.Add(new PlannedClass(speciesBySuperClass[k][speciesOfRank[ranks[j]]], k, train[j], val[j]));

            boxTargets[k] = facts.IsBoxed
                ? Math.Min(LongTailModel.RoundHalfUp(facts.Boxes * options.Scale), (trainTarget + valTarget) * BoxSampler.MaxBoxesPerImage)
                : 0;
            summaries[k] = new SuperClassSummary(facts.Name, chosen, trainTarget, valTarget, boxTargets[k]);
        }

        classes.Sort((a, b) => a.Species.Id.CompareTo(b.Species.Id));
        PlannedClass[] classArray = classes.ToArray();
        int trainCount = 0, valCount = 0;
        foreach (PlannedClass c in classArray)
        {
            trainCount += c.TrainImages;
            valCount += c.ValImages;
        }

        int testCount = Math.Max(1, LongTailModel.RoundHalfUp(PaperTable2.PublicTestImages * options.Scale));
        var images = new PlannedImage[trainCount + valCount + testCount];
        int next = 0;
        AddLabelled(options, classArray, SplitKind.Train, images, ref next);
        AddLabelled(options, classArray, SplitKind.Val, images, ref next);
        AddTest(options, trainCount, images, ref next);
        progress?.Report(new SynthProgress(SynthPhase.Planning, images.Length, images.Length));

        PixelBox[] boxes = PlanBoxes(options, classArray, images, boxTargets);
        return new CorpusPlan
        {
            Options = options,
            Classes = classArray,
            Images = images,
            Boxes = boxes,
            SuperClasses = summaries,
            TrainImages = trainCount,
            ValImages = valCount,
            TestImages = testCount,
        };
    }

    private static List<Species>[] GroupSpecies(IReadOnlyList<SuperClassFacts> table)
    {
        var groups = new List<Species>[table.Count];
        var indexOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int k = 0; k < table.Count; k++)
        {
            groups[k] = new List<Species>(table[k].Classes);
            indexOf[table[k].Name] = k;
        }

        foreach (Species species in SpeciesCatalog.Species)
        {
            if (!indexOf.TryGetValue(species.Supercategory, out int k))
                throw new InvalidDataException($"Species {species.Id} '{species.Name}' has unknown super-class '{species.Supercategory}'.");
            if (species.Boxed != table[k].IsBoxed)
                throw new InvalidDataException($"Species {species.Id} '{species.Name}': boxed={species.Boxed} disagrees with Table 2 for {species.Supercategory}.");
            groups[k].Add(species);
        }

        for (int k = 0; k < table.Count; k++)
        {
            if (groups[k].Count != table[k].Classes)
                throw new InvalidDataException($"The species list has {groups[k].Count} {table[k].Name} species; Table 2 has {table[k].Classes}.");
        }

        return groups;
    }

    private static int[] ShuffledIndices(int count, SynthRandom random)
    {
        var indices = new int[count];
        for (int i = 0; i < count; i++) indices[i] = i;
        for (int i = count - 1; i > 0; i--)
        {
            int j = random.NextInt(i + 1);
            (indices[i], indices[j]) = (indices[j], indices[i]);
        }

        return indices;
    }

    private static void AddLabelled(SynthOptions options, PlannedClass[] classes, SplitKind split, PlannedImage[] images, ref int next)
    {
        for (int c = 0; c < classes.Length; c++)
        {
            int count = split == SplitKind.Train ? classes[c].TrainImages : classes[c].ValImages;
            for (int i = 0; i < count; i++)
            {
                images[next] = NewImage(options, next + 1L, c, split);
                next++;
            }
        }
    }

    /// <summary>Test images show species drawn like a random train image (so in train proportions); no JSON says which.</summary>
    private static void AddTest(SynthOptions options, int trainCount, PlannedImage[] images, ref int next)
    {
        int testCount = images.Length - next;
        for (int i = 0; i < testCount; i++)
        {
            long id = next + 1L;
            var random = SynthRandom.For(options.Seed, id, RandomStreams.TestLabel);
            images[next] = NewImage(options, id, images[random.NextInt(trainCount)].ClassIndex, SplitKind.Test);
            next++;
        }
    }

    private static PlannedImage NewImage(SynthOptions options, long id, int classIndex, SplitKind split)
    {
        var frameRandom = SynthRandom.For(options.Seed, id, RandomStreams.Frame);
        (int width, int height) = ImageFrame.Sample(ref frameRandom, options.MaxSide);
        double licensePick = frameRandom.NextDouble();
        int license = 0;
        while (license < Licenses.Length - 1 && licensePick >= Licenses[license].Cumulative) license++;

        var nameRandom = SynthRandom.For(options.Seed, id, RandomStreams.FileName);
        return new PlannedImage
        {
            Id = id,
            ClassIndex = classIndex,
            Split = split,
            Width = width,
            Height = height,
            License = Licenses[license].Id,
            Observer = frameRandom.NextInt(Observers),
            NameHigh = nameRandom.NextUInt64(),
            NameLow = nameRandom.NextUInt64(),
        };
    }

    private static PixelBox[] PlanBoxes(SynthOptions options, PlannedClass[] classes, PlannedImage[] images, int[] boxTargets)
    {
        int superClasses = boxTargets.Length;
        var idsBySuperClass = new List<long>[superClasses];
        var indexBySuperClass = new List<int>[superClasses];
        for (int k = 0; k < superClasses; k++)
        {
            idsBySuperClass[k] = [];
            indexBySuperClass[k] = [];
        }

        for (int i = 0; i < images.Length; i++)
        {
            if (images[i].Split == SplitKind.Test) continue;
            int k = classes[images[i].ClassIndex].SuperClassIndex;
            if (boxTargets[k] == 0) continue;
            idsBySuperClass[k].Add(images[i].Id);
            indexBySuperClass[k].Add(i);
        }

        int totalBoxes = 0;
        for (int k = 0; k < superClasses; k++)
        {
            int[] counts = BoxSampler.AllocateCounts(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(idsBySuperClass[k]), boxTargets[k], options.Seed, k);
            for (int j = 0; j < counts.Length; j++) images[indexBySuperClass[k][j]].BoxCount = counts[j];
            totalBoxes += boxTargets[k];
        }

        var boxes = new PixelBox[totalBoxes];
        int nextBox = 0;
        for (int i = 0; i < images.Length; i++)
        {
            ref PlannedImage image = ref images[i];
            image.FirstBox = nextBox;
            if (image.BoxCount == 0) continue;
            var random = SynthRandom.For(options.Seed, image.Id, RandomStreams.BoxGeometry);
            var size = BoxSampler.RelativeSize(classes[image.ClassIndex].Species.Supercategory);
            for (int b = 0; b < image.BoxCount; b++)
                boxes[nextBox++] = BoxSampler.Sample(ref random, size, image.BoxCount, image.Width, image.Height);
        }

        return boxes;
    }
}
