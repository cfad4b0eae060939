using Pipeline.Synth;
using SixLabors.ImageSharp.PixelFormats;

namespace Pipeline.Tests.Synth;

public sealed class PhotoRendererTests
{
    [Fact]
    public void Species_of_one_super_class_are_told_apart_by_the_colours_in_their_boxes_far_above_chance()
    {
        const int speciesCount = 8, perSpecies = 8, width = 160, height = 120;
        Species[] species = SpeciesCatalog.Species.Where(s => s.Supercategory == "Insecta").Take(speciesCount).ToArray();
        var options = new SynthOptions("unused", Seed: 5, MaxSide: width);
        var classes = species.Select(s => new PlannedClass(s, 1, perSpecies, 0)).ToArray();
        var images = new PlannedImage[speciesCount * perSpecies];
        var boxes = new PixelBox[images.Length];
        for (int i = 0; i < images.Length; i++)
        {
            var random = SynthRandom.For(99, i, 1);
            boxes[i] = BoxSampler.Sample(ref random, (0.5, 0.2), 1, width, height);
            images[i] = new PlannedImage { Id = i + 1, ClassIndex = i / perSpecies, Width = width, Height = height, FirstBox = i, BoxCount = 1 };
        }

        var plan = new CorpusPlan { Options = options, Classes = classes, Images = images, Boxes = boxes, SuperClasses = [] };
        var renderer = new PhotoRenderer(90);
        var pixels = new Rgb24[width * height];
        var features = new double[images.Length][];
        for (int i = 0; i < images.Length; i++)
        {
            renderer.Draw(plan, images[i], pixels);
            features[i] = ColourHistogram(pixels, width, boxes[i]);
        }

        // leave-one-out nearest centroid on a 64-bin colour histogram: chance is 1 in 8
        int correct = 0;
        for (int i = 0; i < images.Length; i++)
        {
            int best = -1;
            double bestDistance = double.MaxValue;
            for (int c = 0; c < speciesCount; c++)
            {
                double distance = 0;
                for (int f = 0; f < 64; f++)
                {
                    double centroid = 0;
                    int members = 0;
                    for (int j = c * perSpecies; j < (c + 1) * perSpecies; j++)
                    {
                        if (j == i) continue;
                        centroid += features[j][f];
                        members++;
                    }

                    double d = features[i][f] - centroid / members;
                    distance += d * d;
                }

                if (distance < bestDistance) (bestDistance, best) = (distance, c);
            }

            if (best == i / perSpecies) correct++;
        }

        Assert.True(correct >= images.Length / 2, $"{correct} of {images.Length} correct");
    }

    [Fact]
    public void Pictures_at_800_px_are_about_the_size_of_the_release_photos()
    {
        CorpusPlan plan = CorpusPlanner.Plan(new SynthOptions("unused", 0.0002));
        var renderer = new PhotoRenderer(plan.Options.JpegQuality);
        long bytes = 0;
        int pictures = 0;
        for (int i = 0; i < plan.Images.Length && pictures < 16; i += 3, pictures++)
            bytes += renderer.EncodeJpeg(plan, plan.Images[i]).Length;

        // the release averages roughly 100 KB at 800 px
        Assert.InRange(bytes / pictures, 50_000, 200_000);
    }

    [Fact]
    public void Drawing_the_same_image_twice_gives_the_same_pixels()
    {
        CorpusPlan plan = CorpusPlanner.Plan(new SynthOptions("unused", 0.0002, MaxSide: 96));
        var first = new Rgb24[96 * 96];
        var second = new Rgb24[96 * 96];
        PlannedImage image = plan.Images[^1];
        new PhotoRenderer(90).Draw(plan, image, first.AsSpan(0, image.Width * image.Height));
        var renderer = new PhotoRenderer(90);
        renderer.Draw(plan, plan.Images[0], second.AsSpan(0, plan.Images[0].Width * plan.Images[0].Height));
        renderer.Draw(plan, image, second.AsSpan(0, image.Width * image.Height));
        Assert.True(first.AsSpan().SequenceEqual(second));
    }

    /// <summary>64-bin colour histogram of the annotated box, where the organism is drawn.</summary>
    private static double[] ColourHistogram(Rgb24[] pixels, int width, PixelBox box)
    {
        var histogram = new double[64];
        for (int y = box.Y; y < box.Y + box.Height; y++)
        {
            for (int x = box.X; x < box.X + box.Width; x++)
            {
                Rgb24 p = pixels[y * width + x];
                histogram[(p.R >> 6) * 16 + (p.G >> 6) * 4 + (p.B >> 6)]++;
            }
        }

        for (int i = 0; i < histogram.Length; i++) histogram[i] /= box.Width * box.Height;
        return histogram;
    }
}
