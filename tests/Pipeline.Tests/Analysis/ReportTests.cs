using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Pipeline.Analysis;
using Pipeline.Tests.Cluster;
using Pipeline.Tests.Storage;
using SkiaSharp;

namespace Pipeline.Tests.Analysis;

/// <summary>
/// `pipeline report` on the pipeline-made dataset: its numbers equal what DuckDB computes from the Parquet files, and
/// it renders in headless Chromium with charts that are not blank.
/// </summary>
[Collection(PipelineDatasetCollection.Name)]
[Trait("Category", "Slow")]
public sealed partial class ReportTests(PipelineDatasetFixture data)
{
    private async Task<(ReportFiles Files, Dictionary<string, double> Figures, string Html)> WriteReportAsync(string name)
    {
        await data.ProbesAsync(); // probe.json beside the dataset, for Tables 3 and 4
        DatasetSummary summary = await DatasetSummaryBuilder.BuildAsync(data.Dataset);
        ReportFiles files = await HtmlReport.WriteAsync(summary, Path.Combine(data.Root, name, "report.html"));
        string html = File.ReadAllText(files.Html);
        var figures = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (Match m in FigurePattern().Matches(html))
            figures.Add(System.Net.WebUtility.HtmlDecode(m.Groups[1].Value), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        return (files, figures, html);
    }

    [GeneratedRegex("data-figure=\"([^\"]+)\" data-value=\"([^\"]+)\"")]
    private static partial Regex FigurePattern();

    private string Images => DuckDb.Literal(Path.Combine(data.Dataset, "images", "**", "*.parquet"));

    /// <summary>DuckDB's sum() of integers is a HUGEINT, which comes back as a BigInteger.</summary>
    private static long Long(object? value) =>
        value is System.Numerics.BigInteger big ? (long)big : Convert.ToInt64(value, CultureInfo.InvariantCulture);

    [Fact]
    public async Task Table_1_and_2_and_Figure_2_equal_what_DuckDB_counts_in_the_image_files()
    {
        var (_, figures, _) = await WriteReportAsync("tables");

        long classes = 0, train = 0, val = 0, boxes = 0;
        foreach (object?[] row in DuckDb.Query(
            $"SELECT supercategory, count(DISTINCT category_id), count(*) FILTER (WHERE split = 'train'), count(*) FILTER (WHERE split = 'val'), " +
            $"sum(len(boxes)) FROM read_parquet({Images}, hive_partitioning = true) GROUP BY ALL"))
        {
            string super = (string)row[0]!;
            Assert.Equal(Long(row[1]), figures[$"table2.{super}.classes"]);
            Assert.Equal(Long(row[2]), figures[$"table2.{super}.train"]);
            Assert.Equal(Long(row[3]), figures[$"table2.{super}.val"]);
            Assert.Equal(Long(row[4]), figures[$"table2.{super}.boxes"]);
            classes += Long(row[1]);
            train += Long(row[2]);
            val += Long(row[3]);
            boxes += Long(row[4]);
        }
        Assert.Equal(13, classes);
        Assert.Equal(classes, figures["table2.Total.classes"]);
        Assert.Equal(train, figures["table2.Total.train"]);
        Assert.Equal(val, figures["table2.Total.val"]);
        Assert.Equal(boxes, figures["table2.Total.boxes"]);
        // the two broken train images are the only ones missing
        Assert.Equal(data.Summary.TrainImages - 2, train);
        Assert.Equal(data.Summary.ValImages, val);

        List<long> perSpecies = DuckDb.Query(
                $"SELECT count(*) AS n FROM read_parquet({Images}, hive_partitioning = true) WHERE split = 'train' GROUP BY category_id ORDER BY n DESC")
            .Select(r => Long(r[0])).ToList();
        Assert.Equal(perSpecies[0] / (double)perSpecies[^1], figures["imbalance"], 9);
        int top = (int)Math.Ceiling(perSpecies.Count * 0.01);
        Assert.Equal(top, figures["figure2.top_1pct_classes"]);
        Assert.Equal(perSpecies.Take(top).Sum() / (double)train, figures["figure2.top_1pct_share"], 9);
        Assert.Equal(train, figures["figure2.train_images"]);
    }

    [Fact]
    public async Task Figure_4_sizes_and_quarantine_equal_what_DuckDB_reads_from_the_parquet()
    {
        var (_, figures, _) = await WriteReportAsync("figures");

        string histograms = DuckDb.Literal(Path.Combine(data.Dataset, "box_size_histograms.parquet"));
        var boxed = DuckDb.Query($"SELECT supercategory, sum(count) FROM read_parquet({histograms}) GROUP BY 1 HAVING sum(count) > 0");
        Assert.NotEmpty(boxed);
        foreach (object?[] row in boxed)
        {
            string super = (string)row[0]!;
            Assert.Equal(Long(row[1]), figures[$"figure4.{super}.boxes"]);
            // the histograms count exactly the boxes of the image rows
            Assert.Equal(Long(row[1]), figures[$"table2.{super}.boxes"]);
        }

        object?[] sizes = DuckDb.Query(
            $"SELECT min(width), max(width), avg(width), min(height), max(height), avg(height), count(*), " +
            $"min(least(resized_width, resized_height)), max(least(resized_width, resized_height)) FROM read_parquet({Images}, hive_partitioning = true)")[0];
        Assert.Equal(Long(sizes[0]), figures["sizes.width.min"]);
        Assert.Equal(Long(sizes[1]), figures["sizes.width.max"]);
        Assert.Equal(Convert.ToDouble(sizes[2], CultureInfo.InvariantCulture), figures["sizes.width.mean"], 9);
        Assert.Equal(Long(sizes[3]), figures["sizes.height.min"]);
        Assert.Equal(Long(sizes[4]), figures["sizes.height.max"]);
        Assert.Equal(Convert.ToDouble(sizes[5], CultureInfo.InvariantCulture), figures["sizes.height.mean"], 9);
        Assert.Equal(Long(sizes[6]), figures["sizes.images"]);
        Assert.Equal(48, figures["sizes.resized_shorter.min"]); // the stored copies' shorter side
        Assert.Equal(Long(sizes[7]), figures["sizes.resized_shorter.min"]);
        Assert.Equal(Long(sizes[8]), figures["sizes.resized_shorter.max"]);
        Assert.Equal(0, figures["sizes.mismatches"]); // the journal beside the dataset records them

        string errors = DuckDb.Literal(Path.Combine(data.Dataset, "errors.parquet"));
        var groups = DuckDb.Query($"SELECT stage, error, count(*) FROM read_parquet({errors}) GROUP BY ALL");
        Assert.Equal(2, groups.Sum(g => Long(g[2])));
        foreach (object?[] g in groups)
            Assert.Equal(Long(g[2]), figures[$"errors.{g[0]}.{g[1]}"]);
        Assert.Equal(2, figures["errors.total"]);
        Assert.Equal(Long(sizes[6]) + 2, figures["totals.input_images"]);
        Assert.Equal(Long(sizes[6]), figures["totals.output_rows"]);
        Assert.Equal(2, figures["totals.quarantined"]);
    }

    [Fact]
    public async Task Tables_3_and_4_show_the_probe_results_beside_the_dataset()
    {
        ProbeRuns probes = await data.ProbesAsync();
        var (_, figures, html) = await WriteReportAsync("probe");

        Assert.Equal(probes.Real.Top1, figures["table3.probe.top1"]);
        Assert.Equal(probes.Real.Top5, figures["table3.probe.top5"]);
        Assert.Equal(probes.Shuffled[0].Top1, figures["table3.probe_shuffled.top1"]);
        Assert.Equal(probes.Real.ChanceTop1, figures["table3.chance.top1"]);
        foreach (ProbeSuperclassRow row in probes.Real.Superclasses)
        {
            Assert.Equal(row.Top1, figures[$"table4.{row.Supercategory}.top1"]);
            Assert.Equal(row.Top5, figures[$"table4.{row.Supercategory}.top5"]);
            Assert.Equal(row.ValImages, figures[$"table4.{row.Supercategory}.val"]);
        }
        Assert.Contains("Table 3 layout", html);
        Assert.Contains("Table 4 layout", html);
    }

    [Fact]
    public async Task Report_is_self_contained_and_its_charts_are_written_beside_it_as_svg_and_png()
    {
        var (files, _, html) = await WriteReportAsync("files");

        // no scripts, no external resources: every image is a data: URI
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch("(src|href)=\"(?!data:)", html);
        string[] charts = ["figure2-train-images-per-species", "figure4-relative-box-size", "decoded-sizes", "quarantine", "table4-probe-accuracy"];
        foreach (string chart in charts)
        {
            Assert.Contains($"data-chart=\"{chart}\"", html);
            string svg = Path.Combine(Path.GetDirectoryName(files.Html)!, $"report-{chart}.svg");
            string png = Path.Combine(Path.GetDirectoryName(files.Html)!, $"report-{chart}.png");
            Assert.Contains(svg, files.ChartFiles);
            Assert.Contains(png, files.ChartFiles);
            XElement root = XDocument.Load(svg).Root!;
            Assert.Equal("svg", root.Name.LocalName);
            // axes, ticks, labels and the data: a chart drawn with nothing in it has a handful of elements
            int drawn = root.Descendants().Count(e => e.Name.LocalName is "path" or "rect" or "text" or "line" or "polyline");
            Assert.True(drawn >= 15, $"{chart}.svg draws only {drawn} elements");
            AssertNotBlank(png, minimumShare: 0.02);
            AssertHasData(png);
        }
    }

    [Fact]
    public async Task Report_renders_in_headless_chromium_and_the_screenshot_is_not_blank()
    {
        var (files, _, _) = await WriteReportAsync("browser");
        const string chromium = "/usr/bin/chromium";
        Assert.True(File.Exists(chromium), "headless Chromium is needed: apt-get install -y chromium (.ci/run installs it)");
        string screenshot = Path.Combine(data.Root, "browser", "screenshot.png");
        var info = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--user-data-dir=" + Path.Combine(data.Root, "browser", "profile"),
                     "--screenshot=" + screenshot, "--window-size=1400,3000", new Uri(files.Html).AbsoluteUri])
            info.ArgumentList.Add(arg);
        using Process process = Process.Start(info)!;
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(File.Exists(screenshot), $"no screenshot; chromium said: {await stderr}");
        Assert.True(new FileInfo(screenshot).Length > 100_000, $"screenshot of {new FileInfo(screenshot).Length} bytes looks blank");
        using SKBitmap shot = SKBitmap.Decode(screenshot);
        Assert.Equal((1400, 3000), (shot.Width, shot.Height));
        // text, tables and the first charts on a white page: about 8% of the pixels; a blank page has none
        AssertNotBlank(screenshot, minimumShare: 0.04);
    }

    /// <summary>
    /// Axes, grid and text are grey; bars and lines are coloured. At least 1% coloured pixels means data was drawn.
    /// </summary>
    private static void AssertHasData(string png)
    {
        using SKBitmap bitmap = SKBitmap.Decode(png);
        long coloured = 0, all = 0;
        for (int y = 0; y < bitmap.Height; y += 2)
            for (int x = 0; x < bitmap.Width; x += 2, all++)
            {
                SKColor c = bitmap.GetPixel(x, y);
                if (Math.Max(c.Red, Math.Max(c.Green, c.Blue)) - Math.Min(c.Red, Math.Min(c.Green, c.Blue)) > 60) coloured++;
            }
        Assert.True(coloured >= all / 100, $"{Path.GetFileName(png)}: only {coloured} of {all} sampled pixels are coloured: no data drawn?");
    }

    /// <summary>At least <paramref name="minimumShare"/> of the pixels differ from white, in several colours.</summary>
    private static void AssertNotBlank(string png, double minimumShare)
    {
        using SKBitmap bitmap = SKBitmap.Decode(png);
        long inked = 0;
        var colours = new HashSet<uint>();
        for (int y = 0; y < bitmap.Height; y += 2)
            for (int x = 0; x < bitmap.Width; x += 2)
            {
                SKColor c = bitmap.GetPixel(x, y);
                if (c.Red < 235 || c.Green < 235 || c.Blue < 235) inked++;
                if (colours.Count < 64) colours.Add((uint)c);
            }
        double share = inked / (double)((bitmap.Height + 1) / 2 * ((bitmap.Width + 1) / 2));
        Assert.True(share >= minimumShare, $"{Path.GetFileName(png)}: only {share:P1} of the pixels are not background");
        Assert.True(colours.Count >= 8, $"{Path.GetFileName(png)}: only {colours.Count} colours");
    }

    [Fact]
    public async Task Report_command_writes_the_page_and_refuses_a_job_output_folder_with_a_hint()
    {
        await data.ProbesAsync();
        string html = Path.Combine(data.Root, "cli", "dataset-report.html");

        using (var ok = new NodeProcess("report", "report", "--dataset", data.Dataset, "--out", html))
            Assert.True(await ok.WaitForExitAsync(TimeSpan.FromMinutes(1)) == 0, ok.Output);
        Assert.True(File.Exists(html));
        Assert.True(File.Exists(Path.Combine(data.Root, "cli", "dataset-report-figure2-train-images-per-species.png")));

        using var wrong = new NodeProcess("report", "report", "--dataset", data.Output);
        Assert.NotEqual(0, await wrong.WaitForExitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("pass its dataset folder", wrong.Output);
        Assert.DoesNotContain("   at ", wrong.Output);
    }
}
