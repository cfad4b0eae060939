using Pipeline.Synth;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Pipeline.Tests.Synth;

/// <summary>Records every report synchronously (unlike <see cref="Progress{T}"/>, which posts them later).</summary>
internal sealed class RecordingProgress : IProgress<SynthProgress>
{
    private readonly object _gate = new();
    public List<SynthProgress> Reports { get; } = [];

    public void Report(SynthProgress value)
    {
        lock (_gate) Reports.Add(value);
    }
}

/// <summary>A tiny corpus with pictures (13 super-classes, about 240 images at 128 px), written once on 3 threads.</summary>
public sealed class TinyJpegCorpusFixture : IDisposable
{
    public const int MaxSide = 128;
    private readonly TempDirectory _directory = new();

    public TinyJpegCorpusFixture()
    {
        Progress = new RecordingProgress();
        Summary = CorpusGenerator.Generate(new SynthOptions(_directory.Path, 0.0003, Seed: 11, MaxSide: MaxSide, Threads: 3), Progress);
        Json = CorpusJson.Read(_directory.Path);
    }

    public string Root => _directory.Path;
    public SynthSummary Summary { get; }
    internal RecordingProgress Progress { get; }
    public CorpusJson Json { get; }

    public void Dispose() => _directory.Dispose();
}

public sealed class JpegCorpusTests(TinyJpegCorpusFixture corpus) : IClassFixture<TinyJpegCorpusFixture>
{
    [Fact]
    public void Every_listed_image_is_a_jpeg_of_the_size_the_json_gives()
    {
        int files = 0;
        long bytes = 0;
        foreach (CorpusJsonFile file in new[] { corpus.Json.Train, corpus.Json.Val, corpus.Json.Test })
        {
            foreach (JsonImage image in file.Images)
            {
                string path = Path.Combine(corpus.Root, image.FileName);
                byte[] jpeg = File.ReadAllBytes(path);
                // SOI at the start, EOI at the end: a whole file, not a truncated one
                Assert.True(jpeg is [0xFF, 0xD8, ..] && jpeg[^2] == 0xFF && jpeg[^1] == 0xD9, path);
                IImageInfo info = Image.Identify(jpeg, out var format);
                Assert.Equal("JPEG", format.Name);
                Assert.Equal((image.Width, image.Height), (info.Width, info.Height));
                Assert.True(Math.Max(info.Width, info.Height) <= TinyJpegCorpusFixture.MaxSide);
                files++;
                bytes += jpeg.Length;
            }
        }

        Assert.Equal((corpus.Summary.JpegFiles, corpus.Summary.JpegBytes), (files, bytes));
        Assert.Equal(corpus.Summary.TrainImages + corpus.Summary.ValImages + corpus.Summary.TestImages, files);
    }

    [Fact]
    public void Pictures_decode_fully_and_are_not_flat()
    {
        foreach (JsonImage image in corpus.Json.Val.Images.Take(12))
        {
            using Image<Rgb24> picture = Image.Load<Rgb24>(Path.Combine(corpus.Root, image.FileName));
            long sum = 0, sumSquares = 0;
            for (int y = 0; y < picture.Height; y++)
            {
                for (int x = 0; x < picture.Width; x++)
                {
                    int value = picture[x, y].G;
                    sum += value;
                    sumSquares += value * value;
                }
            }

            double n = picture.Width * picture.Height, mean = sum / n;
            Assert.True(sumSquares / n - mean * mean > 25, $"{image.FileName} is nearly flat");
        }
    }

    [Fact]
    public void Only_images_and_the_five_json_files_are_left_behind()
    {
        string[] files = Directory.GetFiles(corpus.Root, "*", SearchOption.AllDirectories);
        Assert.DoesNotContain(files, f => f.EndsWith(".partial", StringComparison.Ordinal));
        Assert.Equal(corpus.Summary.JpegFiles + 5, files.Length);
    }

    [Fact]
    public void Progress_reports_each_phase_and_ends_with_every_image_done()
    {
        List<SynthProgress> reports = corpus.Progress.Reports;
        Assert.Contains(reports, r => r.Phase == SynthPhase.Planning);
        Assert.Contains(new SynthProgress(SynthPhase.Annotations, 5, 5), reports);
        SynthProgress[] images = reports.Where(r => r.Phase == SynthPhase.Images).ToArray();
        Assert.NotEmpty(images);
        Assert.Equal(new SynthProgress(SynthPhase.Images, corpus.Summary.JpegFiles, corpus.Summary.JpegFiles), images[^1]);
        for (int i = 1; i < images.Length; i++) Assert.True(images[i].Done > images[i - 1].Done);
    }

    [Fact]
    public void Same_seed_gives_identical_bytes_in_every_file_on_one_thread()
    {
        using var again = new TempDirectory();
        CorpusGenerator.Generate(new SynthOptions(again.Path, 0.0003, Seed: 11, MaxSide: TinyJpegCorpusFixture.MaxSide, Threads: 1));

        string[] expected = RelativeFiles(corpus.Root);
        Assert.Equal(expected, RelativeFiles(again.Path));
        foreach (string file in expected)
            Assert.True(File.ReadAllBytes(Path.Combine(corpus.Root, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(again.Path, file))), file);
    }

    [Fact]
    public void Another_seed_gives_other_names_and_pictures()
    {
        using var other = new TempDirectory();
        CorpusGenerator.Generate(new SynthOptions(other.Path, 0.0003, Seed: 12, MaxSide: TinyJpegCorpusFixture.MaxSide, Threads: 2));
        Assert.Empty(RelativeFiles(corpus.Root).Where(f => f.EndsWith(".jpg", StringComparison.Ordinal)).Intersect(RelativeFiles(other.Path)));
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(corpus.Root, "train2017.json")), File.ReadAllBytes(Path.Combine(other.Path, "train2017.json")));
    }

    [Fact]
    public void Smallest_max_side_still_gives_decodable_pictures_with_boxes_inside()
    {
        using var tiny = new TempDirectory();
        CorpusGenerator.Generate(new SynthOptions(tiny.Path, 0.0001, MaxSide: SynthOptions.MinMaxSide));
        CorpusJson json = CorpusJson.Read(tiny.Path);
        foreach (JsonImage image in json.Train.Images.Concat(json.Val.Images).Concat(json.Test.Images))
        {
            IImageInfo info = Image.Identify(Path.Combine(tiny.Path, image.FileName));
            Assert.Equal((image.Width, image.Height), (info.Width, info.Height));
            Assert.InRange(Math.Max(info.Width, info.Height), SynthOptions.MinMaxSide / 2, SynthOptions.MinMaxSide);
        }

        var frames = json.TrainBoxes.Images.ToDictionary(i => i.Id);
        Assert.All(json.TrainBoxes.Boxes, b => Assert.True(b.X + b.W <= frames[b.ImageId].Width && b.Y + b.H <= frames[b.ImageId].Height));
    }

    private static string[] RelativeFiles(string root) =>
        Directory.GetFiles(root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(root, f)).Order(StringComparer.Ordinal).ToArray();
}
