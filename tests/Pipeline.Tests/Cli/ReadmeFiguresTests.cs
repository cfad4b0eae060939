using System.Globalization;
using System.Text.RegularExpressions;
using Pipeline.Synth;
using Pipeline.Tests.Kubernetes;

namespace Pipeline.Tests.Cli;

/// <summary>The figures README's quick tour states are what the commands give.</summary>
public sealed partial class ReadmeFiguresTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("pipeline-readme-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Quick_tour_synth_line_states_the_species_superclasses_and_images_that_synth_writes()
    {
        string readme = File.ReadAllText(RepositoryTree.PathOf("README.md"));
        Match line = SynthLine().Match(readme);
        Assert.True(line.Success, "README's quick tour has no `pipeline synth --out corpus --scale S  # N species in N super-classes, N train+val images` line");
        double scale = double.Parse(line.Groups["scale"].Value, CultureInfo.InvariantCulture);

        SynthSummary summary = CorpusGenerator.Generate(new SynthOptions(_dir, scale, WriteImages: false));

        Assert.Equal(summary.Classes, int.Parse(line.Groups["species"].Value, CultureInfo.InvariantCulture));
        Assert.Equal(summary.SuperClasses.Count(s => s.Classes > 0), int.Parse(line.Groups["supers"].Value, CultureInfo.InvariantCulture));
        Assert.Equal(summary.TrainImages + summary.ValImages, long.Parse(line.Groups["images"].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture));
    }

    [GeneratedRegex(@"pipeline synth --out corpus --scale (?<scale>[0-9.]+)\s+# (?<species>\d+) species in (?<supers>\d+) super-classes, (?<images>[\d,]+) train\+val images")]
    private static partial Regex SynthLine();
}
