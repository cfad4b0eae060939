namespace Pipeline.Synth;

/// <summary>One row of the paper's Table 2: classes, train and val images, and boxes (train+val) of a super-class.</summary>
public readonly record struct SuperClassFacts(string Name, int Classes, int TrainImages, int ValImages, int Boxes)
{
    public bool IsBoxed => Boxes > 0;
}

/// <summary>
/// The corpus figures of Van Horn et al., "The iNaturalist Species Classification and Detection Dataset" (CVPR 2018):
/// Table 2 per super-class, the train-class extremes behind the 435.44 imbalance, and the public test set size.
/// </summary>
public static class PaperTable2
{
    /// <summary>Images in the largest training class; with <see cref="SmallestTrainClass"/> gives imbalance 435.44.</summary>
    public const int LargestTrainClass = 3919;

    public const int SmallestTrainClass = 9;

    /// <summary>Images of the public test set (the private one has 92,280 and was never released).</summary>
    public const int PublicTestImages = 90_427;

    /// <summary>The 13 super-classes in the paper's order (largest class count first).</summary>
    public static IReadOnlyList<SuperClassFacts> SuperClasses { get; } =
    [
        new("Plantae", 2101, 158_407, 38_206, 0),
        new("Insecta", 1021, 100_479, 18_076, 125_679),
        new("Aves", 964, 214_295, 21_226, 311_669),
        new("Reptilia", 289, 35_201, 5_680, 42_351),
        new("Mammalia", 186, 29_333, 3_490, 35_222),
        new("Fungi", 121, 5_826, 1_780, 0),
        new("Amphibia", 115, 15_318, 2_385, 18_281),
        new("Mollusca", 93, 7_536, 1_841, 10_821),
        new("Animalia", 77, 5_228, 1_362, 8_536),
        new("Arachnida", 56, 4_873, 1_086, 5_826),
        new("Actinopterygii", 53, 1_982, 637, 3_382),
        new("Chromista", 9, 398, 144, 0),
        new("Protozoa", 4, 308, 73, 0),
    ];

    /// <summary>The row of a super-class, or throws for a name the paper does not list.</summary>
    public static SuperClassFacts Get(string superClass)
    {
        foreach (SuperClassFacts facts in SuperClasses)
        {
            if (facts.Name == superClass) return facts;
        }

        throw new ArgumentException($"'{superClass}' is not one of the 13 iNat2017 super-classes.", nameof(superClass));
    }
}
