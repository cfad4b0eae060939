using System.Globalization;
using System.Net;
using System.Text;
using Pipeline.Analysis.Stats;
using Pipeline.Schema;
using Pipeline.Storage;

namespace Pipeline.Analysis;

/// <summary>The report file and the chart files written beside it.</summary>
public sealed record ReportFiles(string Html, IReadOnlyList<string> ChartFiles);

/// <summary>
/// Renders a <see cref="DatasetSummary"/> as one self-contained HTML page (charts inlined as base64 SVG, no scripts, no
/// external resources) and writes each chart beside it as <c>&lt;name&gt;-&lt;chart&gt;.svg</c> and <c>.png</c>.
/// Every figure the page shows carries <c>data-figure="key" data-value="number"</c> so a script (or a test) can read
/// the numbers back without parsing formatted text.
/// </summary>
public static class HtmlReport
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static async Task<ReportFiles> WriteAsync(DatasetSummary summary, string htmlPath, CancellationToken cancellationToken = default)
    {
        string html = Path.GetFullPath(htmlPath);
        string dir = Path.GetDirectoryName(html)!;
        Directory.CreateDirectory(dir);
        string stem = Path.GetFileNameWithoutExtension(html);
        List<ReportChart> charts = ReportCharts.Render(summary);
        var files = new List<string>();
        foreach (ReportChart chart in charts)
        {
            string svg = Path.Combine(dir, $"{stem}-{chart.Name}.svg");
            string png = Path.Combine(dir, $"{stem}-{chart.Name}.png");
            await DurableFiles.WriteAllTextAsync(svg, chart.Svg, cancellationToken).ConfigureAwait(false);
            await DurableFiles.WriteAllBytesAsync(png, chart.Png, cancellationToken).ConfigureAwait(false);
            files.Add(svg);
            files.Add(png);
        }
        // written under a temporary name and renamed, so a reader never sees half a page
        await DurableFiles.WriteAllTextAsync(html, Render(summary, charts), cancellationToken).ConfigureAwait(false);
        return new ReportFiles(html, files);
    }

    public static string Render(DatasetSummary summary, IReadOnlyList<ReportChart> charts)
    {
        var chartByName = new Dictionary<string, ReportChart>(StringComparer.Ordinal);
        foreach (ReportChart chart in charts) chartByName[chart.Name] = chart;
        var page = new StringBuilder(64 * 1024);
        page.Append("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <title>Pipeline dataset report</title>
            <style>
            body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px 40px; color: #222; max-width: 1100px; }
            h1 { font-size: 26px; } h2 { font-size: 20px; margin-top: 34px; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
            table { border-collapse: collapse; margin: 10px 0; font-size: 14px; }
            th, td { border: 1px solid #ccc; padding: 4px 10px; } th { background: #f2f2f2; }
            td.n { text-align: right; font-variant-numeric: tabular-nums; } .paper { color: #666; }
            img.chart { width: 100%; max-width: 1000px; border: 1px solid #ddd; margin: 8px 0; }
            .note { color: #555; font-size: 13px; } .warn { color: #a40000; font-weight: bold; }
            </style></head><body>
            """);
        page.Append("<h1>Pipeline dataset report</h1>");
        Header(page, summary);
        Table1(page, summary.Train);
        Table2(page, summary);
        Figure(page, chartByName, "figure2-train-images-per-species");
        Figure2Text(page, summary.Train);
        Figure4(page, summary, chartByName);
        Sizes(page, summary.Sizes, chartByName);
        Quarantine(page, summary.Quarantine, chartByName);
        Probe(page, summary, chartByName);
        page.Append("</body></html>\n");
        return page.ToString();
    }

    private static void Header(StringBuilder page, DatasetSummary summary)
    {
        page.Append("<table>");
        Row(page, "dataset", Text(summary.Dataset));
        if (!summary.Complete)
            Row(page, "state", "<span class=\"warn\">no _SUCCESS: the merge did not finish, figures may be partial</span>");
        if (summary.Manifest is { } m)
        {
            Row(page, "job", Text(m.Job));
            Row(page, "model sha256", Text(m.ModelSha256 ?? "none (no embeddings)"));
            Row(page, "created", Text(m.CreatedAt.ToString("u", Invariant)));
            Row(page, "input images", Number("totals.input_images", m.Totals.InputImages));
            Row(page, "output rows", Number("totals.output_rows", m.Totals.OutputRows));
            Row(page, "quarantined", Number("totals.quarantined", m.Totals.Quarantined));
        }
        page.Append("</table>");
    }

    private static void Table1(StringBuilder page, TrainDistribution train)
    {
        page.Append("<h2>Table 1: class imbalance</h2>");
        page.Append("<p class=\"note\">Training images in the largest species over those in the smallest, over species with training images.</p>");
        page.Append("<table><tr><th></th><th>this dataset</th><th class=\"paper\">paper (iNat2017)</th></tr>");
        page.Append("<tr><td>imbalance</td>");
        if (train.Imbalance is { } imbalance)
            page.Append(Cell("imbalance", imbalance, imbalance.ToString("F2", Invariant)));
        else
            page.Append("<td>-</td>");
        page.Append("<td class=\"n paper\">").Append(PaperFigures.Imbalance.ToString("F2", Invariant)).Append("</td></tr>");
        if (train is { Largest: { } largest, Smallest: { } smallest })
        {
            page.Append("<tr><td>largest species</td><td>").Append(Text(largest.Species)).Append(" (")
                .Append(largest.TrainImages.ToString("N0", Invariant)).Append(")</td><td class=\"paper\">-</td></tr>");
            page.Append("<tr><td>smallest species</td><td>").Append(Text(smallest.Species)).Append(" (")
                .Append(smallest.TrainImages.ToString("N0", Invariant)).Append(")</td><td class=\"paper\">-</td></tr>");
        }
        page.Append("</table>");
    }

    private static void Table2(StringBuilder page, DatasetSummary summary)
    {
        double? scale = summary.PaperScale;
        page.Append("<h2>Table 2: super-classes</h2>");
        page.Append("<p class=\"note\">Classes are species with at least one output row; boxes are those of train and val images. The paper's figures are grey");
        if (scale is { } s)
            page.Append("; the paper's counts scaled to this run are the paper's train, val and boxes times ")
                .Append(Span("table2.scale", s, s.ToString("0.######", Invariant)))
                .Append(" (this dataset's train + val images over the paper's ")
                .Append(((long)PaperFigures.Table2Total.TrainImages + PaperFigures.Table2Total.ValImages).ToString("N0", Invariant)).Append(')');
        page.Append(".</p>");
        page.Append("<table><tr><th>super-class</th><th>classes</th><th>train</th><th>val</th><th>boxes</th>")
            .Append("<th class=\"paper\">paper classes</th><th class=\"paper\">paper train</th><th class=\"paper\">paper val</th><th class=\"paper\">paper boxes</th>");
        if (scale is not null)
            page.Append("<th class=\"paper\">paper train, scaled</th><th class=\"paper\">paper val, scaled</th><th class=\"paper\">paper boxes, scaled</th>");
        page.Append("</tr>");
        foreach (SuperclassCounts row in summary.Superclasses) Table2Row(page, row, scale);
        Table2Row(page, summary.Total, scale);
        page.Append("</table>");
    }

    private static void Table2Row(StringBuilder page, SuperclassCounts row, double? scale)
    {
        string key = "table2." + row.Supercategory;
        bool total = row.Supercategory == "Total";
        page.Append(total ? "<tr style=\"font-weight:bold\">" : "<tr>").Append("<td>").Append(Text(row.Supercategory)).Append("</td>");
        page.Append(Cell(key + ".classes", row.Classes)).Append(Cell(key + ".train", row.TrainImages))
            .Append(Cell(key + ".val", row.ValImages)).Append(Cell(key + ".boxes", row.Boxes));
        if (row.Paper is { } p)
            page.Append(PaperCell(p.Classes)).Append(PaperCell(p.TrainImages)).Append(PaperCell(p.ValImages))
                .Append(p.Boxes is { } b ? PaperCell(b) : "<td class=\"n paper\">-</td>");
        else
            page.Append("<td class=\"paper\" colspan=\"4\">not in the paper</td>");
        if (scale is { } s)
        {
            if (row.Paper is { } paper)
                page.Append(ScaledCell(key + ".paper_scaled_train", paper.TrainImages * s)).Append(ScaledCell(key + ".paper_scaled_val", paper.ValImages * s))
                    .Append(paper.Boxes is { } b ? ScaledCell(key + ".paper_scaled_boxes", b * s) : "<td class=\"n paper\">-</td>");
            else
                page.Append("<td class=\"paper\" colspan=\"3\"></td>");
        }
        page.Append("</tr>");
    }

    private static void Figure2Text(StringBuilder page, TrainDistribution train)
    {
        page.Append("<p>The top 1% most populated species (")
            .Append(Span("figure2.top_1pct_classes", train.TopOnePercentClasses, train.TopOnePercentClasses.ToString("N0", Invariant)))
            .Append(" of ").Append(Span("figure2.classes", train.Descending.Count, train.Descending.Count.ToString("N0", Invariant)))
            .Append(") hold ").Append(Span("figure2.top_1pct_images", train.TopOnePercentImages, train.TopOnePercentImages.ToString("N0", Invariant)))
            .Append(" of ").Append(Span("figure2.train_images", train.TrainImages, train.TrainImages.ToString("N0", Invariant)))
            .Append(" training images: ")
            .Append(Span("figure2.top_1pct_share", train.TopOnePercentShare, (train.TopOnePercentShare * 100).ToString("F2", Invariant) + "%"))
            .Append(" <span class=\"paper\">(paper: over ").Append((PaperFigures.TopOnePercentShareAbove * 100).ToString("F0", Invariant))
            .Append("%)</span>.</p>");
    }

    private static void Figure4(StringBuilder page, DatasetSummary summary, Dictionary<string, ReportChart> charts)
    {
        page.Append("<h2>Figure 4: relative box size</h2>");
        if (summary.BoxSizes.Count == 0)
        {
            page.Append("<p>No boxes in this dataset.</p>");
            return;
        }
        page.Append("<p class=\"note\">sqrt(w<sub>box</sub>·h<sub>box</sub>) / sqrt(w<sub>img</sub>·h<sub>img</sub>) per super-class, train and val together, from box_size_histograms.parquet.</p>");
        Figure(page, charts, "figure4-relative-box-size");
        page.Append("<table><tr><th>super-class</th><th>boxes</th><th>median relative size</th></tr>");
        foreach (BoxSizeDistribution d in summary.BoxSizes)
        {
            page.Append("<tr><td>").Append(Text(d.Supercategory)).Append("</td>").Append(Cell("figure4." + d.Supercategory + ".boxes", d.Boxes));
            page.Append(d.Median is { } median ? Cell("figure4." + d.Supercategory + ".median", median, median.ToString("F3", Invariant)) : "<td>-</td>");
            page.Append("</tr>");
        }
        page.Append("</table>");
    }

    private static void Sizes(StringBuilder page, DecodeSizes sizes, Dictionary<string, ReportChart> charts)
    {
        page.Append("<h2>Decoded image sizes</h2>");
        page.Append("<table><tr><th></th><th>min</th><th>mean</th><th>max</th></tr>");
        page.Append("<tr><td>width</td>").Append(Cell("sizes.width.min", sizes.MinWidth))
            .Append(Cell("sizes.width.mean", sizes.MeanWidth, sizes.MeanWidth.ToString("F1", Invariant))).Append(Cell("sizes.width.max", sizes.MaxWidth)).Append("</tr>");
        page.Append("<tr><td>height</td>").Append(Cell("sizes.height.min", sizes.MinHeight))
            .Append(Cell("sizes.height.mean", sizes.MeanHeight, sizes.MeanHeight.ToString("F1", Invariant))).Append(Cell("sizes.height.max", sizes.MaxHeight)).Append("</tr>");
        page.Append("<tr><td>shorter side of the resize the boxes refer to</td>").Append(Cell("sizes.resized_shorter.min", sizes.MinResizedShorter))
            .Append("<td></td>").Append(Cell("sizes.resized_shorter.max", sizes.MaxResizedShorter)).Append("</tr></table>");
        page.Append("<p>Images: ").Append(Span("sizes.images", sizes.Images, sizes.Images.ToString("N0", Invariant))).Append(". Decoded size different from the annotation JSON's: ");
        page.Append(sizes.SizeMismatches is { } mismatches
            ? Span("sizes.mismatches", mismatches, mismatches.ToString("N0", Invariant)) + " (from the job journal)"
            : "not recorded (no job journal beside the dataset)");
        page.Append(".</p>");
        Figure(page, charts, "decoded-sizes");
    }

    private static void Quarantine(StringBuilder page, QuarantineSummary quarantine, Dictionary<string, ReportChart> charts)
    {
        page.Append("<h2>Quarantine</h2>");
        page.Append("<p>Quarantined images (errors.parquet): ").Append(Span("errors.total", quarantine.Images, quarantine.Images.ToString("N0", Invariant))).Append(".</p>");
        if (quarantine.Images == 0) return;
        page.Append("<table><tr><th>stage</th><th>error</th><th>images</th></tr>");
        foreach (QuarantineGroup g in quarantine.Groups)
            page.Append("<tr><td>").Append(Text(g.Stage)).Append("</td><td>").Append(Text(g.Error)).Append("</td>")
                .Append(Cell($"errors.{g.Stage}.{g.Error}", g.Images)).Append("</tr>");
        page.Append("</table>");
        Figure(page, charts, "quarantine");
        page.Append("<p class=\"note\">First ").Append(quarantine.Examples.Count).Append(" quarantined images:</p>");
        page.Append("<table><tr><th>image</th><th>file</th><th>stage</th><th>error</th><th>message</th><th>worker</th><th>attempt</th></tr>");
        foreach (ErrorRow e in quarantine.Examples)
            page.Append("<tr><td class=\"n\">").Append(e.ImageId.ToString(Invariant)).Append("</td><td>").Append(Text(e.FileName))
                .Append("</td><td>").Append(Text(e.Stage)).Append("</td><td>").Append(Text(e.Error)).Append("</td><td>").Append(Text(e.Message))
                .Append("</td><td>").Append(Text(e.Worker)).Append("</td><td class=\"n\">").Append(e.Attempt.ToString(Invariant)).Append("</td></tr>");
        page.Append("</table>");
    }

    private static void Probe(StringBuilder page, DatasetSummary summary, Dictionary<string, ReportChart> charts)
    {
        page.Append("<h2>Tables 3 and 4: linear probe on the embeddings</h2>");
        if (summary.Probe is not { } probe)
        {
            page.Append("<p>No probe results beside the dataset: run <code>pipeline probe --dataset ").Append(Text(summary.Dataset))
                .Append("</code> (and with <code>--shuffle-labels</code> for the control), then this report again.</p>");
            return;
        }
        page.Append("<p class=\"note\">Multinomial logistic regression (").Append(Text(probe.Trainer)).Append(", seed ").Append(probe.Seed)
            .Append(") on ").Append(probe.TrainImages.ToString("N0", Invariant)).Append(" train embeddings of dimension ")
            .Append(probe.EmbeddingDimension).Append(", evaluated on ").Append(probe.ValImages.ToString("N0", Invariant))
            .Append(" val images, ").Append(probe.Classes.ToString("N0", Invariant)).Append(" classes. The paper's networks were trained end to end; this is a frozen-feature baseline.</p>");
        page.Append("<h3>Table 3 layout: accuracy on val (%)</h3>");
        page.Append("<p class=\"note\">Top1/Top5 count every val image once, as the paper's Table 3; the per-species means weigh every species alike, ")
            .Append("so a classifier that ignores its input scores 1/classes there however unbalanced the classes are.</p>");
        page.Append("<table><tr><th>model</th><th>Top1</th><th>Top5</th><th>Top1, mean over species</th><th>Top5, mean over species</th></tr>");
        ProbeRow(page, ProbeTables.ModelLabel(probe), "probe", probe);
        if (summary.ShuffledProbe is { } control)
            ProbeRow(page, ProbeTables.ModelLabel(control), "probe_shuffled", control);
        page.Append("<tr><td>chance (1/classes)</td><td></td><td></td>")
            .Append(Cell("table3.chance.top1", probe.ChanceTop1, ProbeTables.Percent(probe.ChanceTop1)))
            .Append(Cell("table3.chance.top5", probe.ChanceTop5, ProbeTables.Percent(probe.ChanceTop5))).Append("</tr>");
        page.Append("<tr><td>always the largest train class</td>")
            .Append(Cell("table3.majority.top1", probe.MajorityTop1, ProbeTables.Percent(probe.MajorityTop1))).Append("<td></td><td></td><td></td></tr>");
        page.Append("</table>");
        page.Append("<h3>Table 4 layout: accuracy per super-class (%), averaged over its species</h3>");
        page.Append("<table><tr><th>super-class</th><th>classes</th><th>avg train</th><th>val images</th><th>Top1</th><th>Top5</th></tr>");
        foreach (ProbeSuperclassRow row in probe.Superclasses)
        {
            string key = "table4." + row.Supercategory;
            page.Append("<tr><td>").Append(Text(row.Supercategory)).Append("</td>").Append(Cell(key + ".classes", row.Classes))
                .Append(Cell(key + ".avg_train", row.AverageTrainImages, row.AverageTrainImages.ToString("N1", Invariant)))
                .Append(Cell(key + ".val", row.ValImages))
                .Append(Cell(key + ".top1", row.Top1, ProbeTables.Percent(row.Top1))).Append(Cell(key + ".top5", row.Top5, ProbeTables.Percent(row.Top5)))
                .Append("</tr>");
        }
        page.Append("</table>");
        Figure(page, charts, "table4-probe-accuracy");
    }

    private static void ProbeRow(StringBuilder page, string label, string key, ProbeResult probe) =>
        page.Append("<tr><td>").Append(Text(label)).Append("</td>")
            .Append(Cell("table3." + key + ".top1", probe.Top1, ProbeTables.Percent(probe.Top1)))
            .Append(Cell("table3." + key + ".top5", probe.Top5, ProbeTables.Percent(probe.Top5)))
            .Append(Cell("table3." + key + ".mean_class_top1", probe.MeanClassTop1, ProbeTables.Percent(probe.MeanClassTop1)))
            .Append(Cell("table3." + key + ".mean_class_top5", probe.MeanClassTop5, ProbeTables.Percent(probe.MeanClassTop5))).Append("</tr>");

    private static void Figure(StringBuilder page, Dictionary<string, ReportChart> charts, string name)
    {
        if (!charts.TryGetValue(name, out ReportChart? chart)) return;
        // an <img> keeps each SVG's ids to itself (inline SVGs of one page would share clip-path ids)
        page.Append("<img class=\"chart\" alt=\"").Append(Text(chart.Title)).Append("\" data-chart=\"").Append(Text(chart.Name))
            .Append("\" src=\"data:image/svg+xml;base64,").Append(Convert.ToBase64String(Encoding.UTF8.GetBytes(chart.Svg))).Append("\">");
    }

    private static void Row(StringBuilder page, string label, string valueHtml) =>
        page.Append("<tr><th style=\"text-align:left\">").Append(Text(label)).Append("</th><td>").Append(valueHtml).Append("</td></tr>");

    private static string Number(string key, long value) => Span(key, value, value.ToString("N0", Invariant));

    private static string Cell(string key, long value) => Cell(key, value, value.ToString("N0", Invariant));

    private static string Cell(string key, double value, string shown) =>
        $"<td class=\"n\" data-figure=\"{Text(key)}\" data-value=\"{value.ToString("R", Invariant)}\">{Text(shown)}</td>";

    private static string Span(string key, double value, string shown) =>
        $"<span data-figure=\"{Text(key)}\" data-value=\"{value.ToString("R", Invariant)}\">{Text(shown)}</span>";

    /// <summary>A scaled paper count: whole numbers from 10 up, one decimal below (0.6 of an image says more than 1).</summary>
    private static string ScaledCell(string key, double value) =>
        $"<td class=\"n paper\" data-figure=\"{Text(key)}\" data-value=\"{value.ToString("R", Invariant)}\">{Text(value.ToString(value >= 10 ? "N0" : "N1", Invariant))}</td>";

    private static string PaperCell(long value) => $"<td class=\"n paper\">{value.ToString("N0", Invariant)}</td>";

    private static string Text(string value) => WebUtility.HtmlEncode(value);
}
