using System.Globalization;
using System.Text;

namespace Pipeline.Analysis.Stats;

/// <summary>The plain-text form of a <see cref="StatsReport"/>: aligned tables, thousands separators.</summary>
internal static class StatsText
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Render(StatsReport report)
    {
        var text = new StringBuilder();
        ImageTotals images = report.Images;
        text.Append("Corpus ").AppendLine(report.Corpus);
        text.Append("images: train ").Append(Count(images.TrainImages))
            .Append(", val ").Append(Count(images.ValImages))
            .Append(", test ").Append(Count(images.TestImages))
            .Append("; unlabelled train ").Append(Count(images.UnlabelledTrainImages))
            .Append(", unlabelled val ").AppendLine(Count(images.UnlabelledValImages));
        text.Append("boxes: train ").Append(Count(images.TrainBoxes))
            .Append(", val ").AppendLine(Count(images.ValBoxes));
        text.AppendLine();

        AppendImbalance(text, report.Imbalance);
        AppendTable2(text, report);
        AppendDistribution(text, report.TrainImagesPerClass);
        AppendBoxSizes(text, report.BoxSizes);
        AppendIssues(text, report.Issues);
        return text.ToString();
    }

    private static void AppendImbalance(StringBuilder text, ImbalanceFigures imbalance)
    {
        text.AppendLine("Table 1: class imbalance of the training set (largest class / smallest class)");
        if (imbalance.Imbalance is not double ratio || imbalance.LargestClass is null || imbalance.SmallestClass is null)
        {
            text.AppendLine("  no class has a training image").AppendLine();
            return;
        }
        var table = new TextTable(("", false), ("class", false), ("id", true), ("train images", true));
        table.Add("largest", imbalance.LargestClass.Name, imbalance.LargestClass.CategoryId.ToString(Invariant), Count(imbalance.LargestClass.TrainImages));
        table.Add("smallest", imbalance.SmallestClass.Name, imbalance.SmallestClass.CategoryId.ToString(Invariant), Count(imbalance.SmallestClass.TrainImages));
        table.AppendTo(text, "  ");
        text.Append("  imbalance ").Append(ratio.ToString("N2", Invariant))
            .Append(" over ").Append(Count(imbalance.ClassesWithTrainImages)).Append(" classes (paper: ")
            .Append(PaperFigures.Imbalance.ToString("N2", Invariant)).AppendLine(")");
        text.AppendLine();
    }

    private static void AppendTable2(StringBuilder text, StatsReport report)
    {
        text.AppendLine("Table 2: per super-class (boxes = train + val boxes)");
        var table = new TextTable(("super-class", false), ("classes", true), ("train", true), ("val", true), ("boxes", true));
        foreach (SuperclassRow row in report.Superclasses)
            table.Add(row.Supercategory, Count(row.Classes), Count(row.TrainImages), Count(row.ValImages), Count(row.Boxes));
        table.AddRule();
        SuperclassRow total = report.Total;
        table.Add(total.Supercategory, Count(total.Classes), Count(total.TrainImages), Count(total.ValImages), Count(total.Boxes));
        table.AppendTo(text, "  ");
        text.AppendLine();
    }

    private static void AppendDistribution(StringBuilder text, ClassDistribution distribution)
    {
        text.Append("Figure 2: training images per class, over ").Append(Count(distribution.Classes))
            .Append(" classes with training images (").Append(Count(distribution.ClassesWithoutTrainImages))
            .AppendLine(" without)");
        text.Append("  top 1% (").Append(Count(distribution.TopOnePercentClasses)).Append(" classes, ceil) hold ")
            .Append(Count(distribution.TopOnePercentTrainImages)).Append(" images, ")
            .Append((distribution.TopOnePercentShare * 100).ToString("N2", Invariant)).Append("% of labelled training images (paper: over ")
            .Append((PaperFigures.TopOnePercentShareAbove * 100).ToString("N0", Invariant)).AppendLine("%)");
        if (distribution.Quantiles is Quantiles q)
        {
            var table = new TextTable(("min", true), ("p10", true), ("p25", true), ("p50", true), ("p75", true),
                ("p90", true), ("p99", true), ("max", true));
            table.Add(Number(q.Min, 1), Number(q.P10, 1), Number(q.P25, 1), Number(q.P50, 1), Number(q.P75, 1),
                Number(q.P90, 1), Number(q.P99, 1), Number(q.Max, 1));
            table.AppendTo(text, "  ");
        }
        text.AppendLine();
    }

    private static void AppendBoxSizes(StringBuilder text, IReadOnlyList<BoxSizeSummary> rows)
    {
        text.Append("Figure 4: relative box size sqrt(w*h)/sqrt(W*H); small < ")
            .Append(CorpusStatistics.SmallBelow.ToString(Invariant)).Append(" <= medium < ")
            .Append(CorpusStatistics.LargeFrom.ToString(Invariant)).AppendLine(" <= large");
        var table = new TextTable(("super-class", false), ("boxes", true), ("min", true), ("p10", true), ("p25", true),
            ("p50", true), ("p75", true), ("p90", true), ("p99", true), ("max", true), ("small", true), ("medium", true),
            ("large", true));
        foreach (BoxSizeSummary row in rows)
        {
            if (row.Supercategory == CorpusStatistics.AllSupercategories)
                table.AddRule();
            Quantiles? q = row.Quantiles;
            table.Add(row.Supercategory, Count(row.Boxes),
                Size(q?.Min), Size(q?.P10), Size(q?.P25), Size(q?.P50), Size(q?.P75), Size(q?.P90), Size(q?.P99), Size(q?.Max),
                Percent(row.SmallShare, row.Boxes), Percent(row.MediumShare, row.Boxes), Percent(row.LargeShare, row.Boxes));
        }
        table.AppendTo(text, "  ");
        text.AppendLine();
    }

    private static void AppendIssues(StringBuilder text, IssueSummary issues)
    {
        text.Append("Reader issues: ").Append(Count(issues.Total)).Append(" (")
            .Append(Count(issues.Skipped)).AppendLine(" elements skipped)");
        var table = new TextTable(("issue", false), ("count", true), ("effect", false));
        foreach (IssueCount count in issues.Counts)
            if (count.Count > 0)
                table.Add(count.Code, Count(count.Count), count.Skipped ? "skipped" : "kept");
        if (issues.Total > 0)
            table.AppendTo(text, "  ");
        foreach (IssueSample sample in issues.Samples)
            text.Append("  - ").Append(sample.Code).Append(": ").AppendLine(sample.Message);
    }

    private static string Count(long value) => value.ToString("N0", Invariant);

    private static string Number(double value, int decimals) => value.ToString("N" + decimals, Invariant);

    private static string Size(double? value) => value is double v ? v.ToString("0.000", Invariant) : "-";

    private static string Percent(double share, long whole) =>
        whole == 0 ? "-" : (share * 100).ToString("0.0", Invariant) + "%";

    /// <summary>Columns padded to their widest cell; a rule is a line of dashes under the header's width.</summary>
    private sealed class TextTable
    {
        private readonly (string Header, bool RightAligned)[] _columns;
        private readonly List<string[]?> _rows = new();   // null is a rule

        public TextTable(params (string Header, bool RightAligned)[] columns) => _columns = columns;

        public void Add(params string[] cells) => _rows.Add(cells);

        public void AddRule() => _rows.Add(null);

        public void AppendTo(StringBuilder text, string indent)
        {
            var widths = new int[_columns.Length];
            for (int c = 0; c < _columns.Length; c++)
                widths[c] = _columns[c].Header.Length;
            foreach (string[]? row in _rows)
                if (row is not null)
                    for (int c = 0; c < row.Length; c++)
                        widths[c] = Math.Max(widths[c], row[c].Length);
            int totalWidth = 0;
            foreach (int width in widths)
                totalWidth += width + 2;
            totalWidth -= 2;

            var header = new string[_columns.Length];
            for (int c = 0; c < _columns.Length; c++)
                header[c] = _columns[c].Header;
            AppendRow(text, indent, header, widths);
            text.Append(indent).Append('-', totalWidth).AppendLine();
            foreach (string[]? row in _rows)
            {
                if (row is null)
                    text.Append(indent).Append('-', totalWidth).AppendLine();
                else
                    AppendRow(text, indent, row, widths);
            }
        }

        private void AppendRow(StringBuilder text, string indent, string[] cells, int[] widths)
        {
            var line = new StringBuilder(indent);
            for (int c = 0; c < cells.Length; c++)
            {
                if (c > 0)
                    line.Append("  ");
                line.Append(_columns[c].RightAligned ? cells[c].PadLeft(widths[c]) : cells[c].PadRight(widths[c]));
            }
            text.AppendLine(line.ToString().TrimEnd());
        }
    }
}
