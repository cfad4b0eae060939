using System.Globalization;
using ScottPlot;

namespace Pipeline.Analysis;

/// <summary>One chart of the report, rendered once as SVG (inlined and written beside the HTML) and once as PNG.</summary>
public sealed record ReportChart(string Name, string Title, string Svg, byte[] Png);

/// <summary>
/// The report's figures drawn with ScottPlot: Figure 2 (train images per species, log scale from half an image, so a
/// species with one image shows), Figure 4 (relative box
/// size per super-class), decoded sizes, quarantine, and the probe's Table 4 accuracies.
/// </summary>
public static class ReportCharts
{
    public const int Width = 1000;
    public const int Height = 480;

    /// <summary>Above this many species Figure 2 draws a filled curve instead of one bar per species.</summary>
    private const int MaxSpeciesBars = 200;

    /// <summary>Below this many boxes in a super-class Figure 4 draws wider bins.</summary>
    private const long SmoothBoxCount = 1000;

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static List<ReportChart> Render(DatasetSummary summary)
    {
        var charts = new List<ReportChart>();
        if (summary.Train.Descending.Count > 0) charts.Add(Figure2(summary.Train));
        if (summary.BoxSizes.Count > 0) charts.Add(Figure4(summary.BoxSizes));
        if (summary.Sizes.Images > 0) charts.Add(DecodedSizes(summary.Sizes));
        if (summary.Quarantine.Groups.Count > 0) charts.Add(Quarantine(summary.Quarantine));
        if (summary.Probe is not null) charts.Add(ProbeBySuperclass(summary.Probe));
        return charts;
    }

    internal static ReportChart Figure2(TrainDistribution train)
    {
        var plot = new Plot();
        int n = train.Descending.Count;
        var xs = new double[n];
        var ys = new double[n];
        for (int i = 0; i < n; i++)
        {
            xs[i] = i + 1;
            ys[i] = Math.Log10(train.Descending[i].TrainImages);
        }
        // bars rise from half an image, not from 1: log10(1) = 0 would draw a species with one image as no bar at all
        double floor = Math.Log10(0.5);
        Color blue = Colors.C0;
        if (n <= MaxSpeciesBars)
        {
            var bars = new List<Bar>(n);
            for (int i = 0; i < n; i++)
                bars.Add(new Bar { Position = xs[i], Value = ys[i], ValueBase = floor, FillColor = blue, LineWidth = 0, Size = 0.85 });
            plot.Add.Bars(bars).LegendText = "train images of a species";
        }
        else
        {
            var curve = plot.Add.ScatterLine(xs, ys, blue);
            curve.FillY = true;
            curve.FillYValue = floor;
            curve.FillYColor = blue.WithAlpha(0.35);
            curve.LineWidth = 1.5f;
            curve.LegendText = "train images of a species";
        }
        var top = plot.Add.VerticalLine(train.TopOnePercentClasses + 0.5, 2, Colors.C3, LinePattern.Dashed);
        top.LegendText = $"top 1% ({train.TopOnePercentClasses} species): {train.TopOnePercentShare * 100:F1}% of train images (paper: over 16%)";
        plot.Axes.Left.TickGenerator = LogTicks();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.SetLimitsY(floor, Math.Max(1, Math.Ceiling(ys[0] + 0.05)));
        plot.Axes.SetLimitsX(0, n + 1);
        plot.Title("Figure 2: training images per species (sorted, log scale)");
        plot.XLabel("species, most to least populated");
        plot.YLabel("training images");
        plot.ShowLegend(Alignment.UpperRight);
        return Draw(plot, "figure2-train-images-per-species", "Figure 2: training images per species");
    }

    internal static ReportChart Figure4(IReadOnlyList<BoxSizeDistribution> boxSizes)
    {
        var plot = new Plot();
        long fewest = long.MaxValue;
        foreach (BoxSizeDistribution super in boxSizes) fewest = Math.Min(fewest, super.Boxes);
        // a few hundred boxes spread over 50 bins draw spikes, not a distribution: merge bins to 10 then
        int merge = fewest < SmoothBoxCount && boxSizes[0].Bins.Count % 5 == 0 ? 5 : 1;
        for (int s = 0; s < boxSizes.Count; s++)
        {
            BoxSizeDistribution super = boxSizes[s];
            int n = super.Bins.Count / merge;
            var xs = new double[n];
            var ys = new double[n];
            for (int b = 0; b < n; b++)
            {
                long count = 0;
                for (int j = 0; j < merge; j++) count += super.Bins[b * merge + j].Count;
                xs[b] = (super.Bins[b * merge].BinLo + super.Bins[b * merge + merge - 1].BinHi) / 2;
                ys[b] = 100.0 * count / super.Boxes;
            }
            var line = plot.Add.ScatterLine(xs, ys, Palette(s));
            line.LineWidth = 2;
            line.LegendText = $"{super.Supercategory} ({super.Boxes.ToString("N0", Invariant)} boxes)";
        }
        plot.Axes.SetLimitsX(0, 1);
        plot.Axes.Margins(bottom: 0);
        plot.Title("Figure 4: relative box size per super-class");
        double binWidth = boxSizes[0].Bins.Count > 0 ? (boxSizes[0].Bins[0].BinHi - boxSizes[0].Bins[0].BinLo) * merge : 0;
        plot.XLabel($"relative size sqrt(w·h) / sqrt(W·H), bins of {binWidth.ToString("0.###", Invariant)}");
        plot.YLabel("% of the super-class's boxes");
        plot.ShowLegend(Alignment.UpperRight);
        return Draw(plot, "figure4-relative-box-size", "Figure 4: relative box size per super-class");
    }

    internal static ReportChart DecodedSizes(DecodeSizes sizes)
    {
        var plot = new Plot();
        var bars = new List<Bar>(sizes.Bins.Count * 2);
        double binWidth = sizes.Bins.Count > 0 ? sizes.Bins[0].Hi - sizes.Bins[0].Lo : 1;
        foreach (SizeBin bin in sizes.Bins)
        {
            double centre = (bin.Lo + bin.Hi) / 2.0;
            bars.Add(new Bar { Position = centre - binWidth * 0.2, Value = bin.Widths, Size = binWidth * 0.4, FillColor = Colors.C0, LineWidth = 0 });
            bars.Add(new Bar { Position = centre + binWidth * 0.2, Value = bin.Heights, Size = binWidth * 0.4, FillColor = Colors.C1, LineWidth = 0 });
        }
        plot.Add.Bars(bars);
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "width", FillColor = Colors.C0 });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "height", FillColor = Colors.C1 });
        plot.Axes.Margins(bottom: 0);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Title($"Decoded image sizes ({sizes.Images.ToString("N0", Invariant)} images)");
        plot.XLabel($"pixels (bins of {binWidth.ToString(Invariant)})");
        plot.YLabel("images");
        plot.ShowLegend(Alignment.UpperLeft);
        return Draw(plot, "decoded-sizes", "Decoded image sizes");
    }

    internal static ReportChart Quarantine(QuarantineSummary quarantine)
    {
        var plot = new Plot();
        int n = quarantine.Groups.Count;
        var bars = new List<Bar>(n);
        var positions = new double[n];
        var labels = new string[n];
        for (int i = 0; i < n; i++)
        {
            QuarantineGroup group = quarantine.Groups[i];
            positions[i] = i;
            labels[i] = $"{group.Stage}: {group.Error}";
            bars.Add(new Bar { Position = i, Value = group.Images, FillColor = Colors.C3, LineWidth = 0, Label = group.Images.ToString(Invariant) });
        }
        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 14;
        plot.Axes.Bottom.SetTicks(positions, labels);
        plot.Axes.Margins(bottom: 0);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Title($"Quarantined images by stage and error ({quarantine.Images.ToString("N0", Invariant)})");
        plot.YLabel("images");
        return Draw(plot, "quarantine", "Quarantined images by stage and error");
    }

    internal static ReportChart ProbeBySuperclass(ProbeResult probe)
    {
        var plot = new Plot();
        int n = probe.Superclasses.Count;
        var bars = new List<Bar>(n * 2);
        var positions = new double[n];
        var labels = new string[n];
        for (int i = 0; i < n; i++)
        {
            ProbeSuperclassRow row = probe.Superclasses[i];
            positions[i] = i * 3 + 0.5;
            labels[i] = row.Supercategory;
            bars.Add(new Bar { Position = i * 3, Value = row.Top1 * 100, FillColor = Colors.C0, LineWidth = 0 });
            bars.Add(new Bar { Position = i * 3 + 1, Value = row.Top5 * 100, FillColor = Colors.C2, LineWidth = 0 });
        }
        plot.Add.Bars(bars);
        var chance = plot.Add.HorizontalLine(probe.ChanceTop1 * 100, 2, Colors.C3, LinePattern.Dashed);
        chance.LegendText = "chance top-1 (1/classes)";
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "top-1", FillColor = Colors.C0 });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = "top-5", FillColor = Colors.C2 });
        plot.Axes.Bottom.SetTicks(positions, labels);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        // rotated labels need room below the axis that the automatic layout does not reserve
        plot.Axes.Bottom.MinimumSize = 110;
        plot.Axes.SetLimitsY(0, 105);
        plot.Title($"Linear probe accuracy on val per super-class ({ProbeTables.ModelLabel(probe)})");
        plot.YLabel("accuracy, % (mean over species)");
        plot.ShowLegend(Edge.Right);
        return Draw(plot, "table4-probe-accuracy", "Table 4: probe accuracy per super-class");
    }

    /// <summary>Log-scale ticks on an axis whose values are log10 of the data: labels 1, 10, 100, … with minor ticks.</summary>
    private static ScottPlot.TickGenerators.NumericAutomatic LogTicks() => new()
    {
        MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
        IntegerTicksOnly = true,
        LabelFormatter = static y => Math.Pow(10, y).ToString("N0", Invariant),
    };

    private static Color Palette(int index) => new ScottPlot.Palettes.Category10().GetColor(index);

    private static ReportChart Draw(Plot plot, string name, string title)
    {
        string svg = plot.GetSvgXml(Width, Height);
        byte[] png = plot.GetImageBytes(Width, Height, ImageFormat.Png);
        return new ReportChart(name, title, svg, png);
    }
}
