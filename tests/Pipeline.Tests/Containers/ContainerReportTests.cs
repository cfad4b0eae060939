using System.Text.RegularExpressions;
using Pipeline.Tests.Cluster;
using Pipeline.Tests.Reliability;

namespace Pipeline.Tests.ContainerImages;

/// <summary>
/// `pipeline report` inside the image draws the text of its charts: the image carries a font (SkiaSharp's
/// dependency-free build reads /usr/share/fonts; .NET's runtime-deps base has none, and without one the charts come out
/// with no title, labels or ticks at all, silently). Driven by .ci/containers.sh.
/// </summary>
[Trait("Category", "Containers")]
[Trait("Category", "Slow")]
public sealed partial class ContainerReportTests(SmallCorpusFixture corpus) : IClassFixture<SmallCorpusFixture>, IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-container-report-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [ContainerFact]
    public void Report_charts_inside_the_image_carry_their_text()
    {
        Podman.Host("chown", "1654:1654", _work);
        Podman.Host("chmod", "-R", "a+rX", corpus.Root);
        string[] volumes = ["--volume", $"{corpus.Root}:/data/corpus:ro", "--volume", $"{_work}:/data/work"];
        Podman.Run(300, ["run", "--rm", .. volumes, Podman.Image, "run", "--corpus", "/data/corpus", "--out", "/data/work/out", "--model", "none"]);
        Podman.Run(120, ["run", "--rm", .. volumes, Podman.Image, "report", "--dataset", "/data/work/out/dataset", "--out", "/data/work/report/report.html"]);

        var charts = Directory.GetFiles(Path.Combine(_work, "report"), "*.svg");
        Assert.NotEmpty(charts);
        foreach (var chart in charts)
        {
            var texts = ChartTexts(File.ReadAllText(chart));
            Assert.True(texts.Count >= 10, $"{Path.GetFileName(chart)} has {texts.Count} text elements: no font in the image?");
        }
        var sizes = ChartTexts(File.ReadAllText(Path.Combine(_work, "report", "report-decoded-sizes.svg")));
        Assert.Contains(sizes, t => t.StartsWith("Decoded image sizes (", StringComparison.Ordinal));
        Assert.Contains(sizes, t => t.StartsWith("pixels (bins of", StringComparison.Ordinal));

        // the control: with the image's fonts hidden the same report has no text (or refuses to draw), so the check
        // above sees the fonts the image carries and nothing else
        var (code, output) = Podman.Try(["run", "--rm", .. volumes, "--tmpfs", "/usr/share/fonts:notmpcopyup", Podman.Image,
            "report", "--dataset", "/data/work/out/dataset", "--out", "/data/work/nofonts/report.html"]);
        var hidden = Path.Combine(_work, "nofonts", "report-decoded-sizes.svg");
        if (code == 0 && File.Exists(hidden))
            Assert.True(ChartTexts(File.ReadAllText(hidden)).Count == 0, "text drawn without /usr/share/fonts: " + output);
    }

    private static List<string> ChartTexts(string svg) =>
        SvgText().Matches(svg).Select(m => m.Groups[1].Value.Trim()).Where(t => t.Length > 0).ToList();

    [GeneratedRegex(@"<text[^>]*>(.*?)</text>", RegexOptions.Singleline)]
    private static partial Regex SvgText();

}
