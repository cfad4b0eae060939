using System.Globalization;
using System.Text;

namespace Pipeline.Analysis;

/// <summary>
/// Probe results in the layout of the paper's Table 3 (one row per model: top-1 and top-5 on val) and Table 4 (one row
/// per super-class: classes, average train images per class, top-1 and top-5 averaged over its species).
/// </summary>
public static class ProbeTables
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The row label of a probe in Table 3.</summary>
    public static string ModelLabel(ProbeResult probe) =>
        probe.ShuffledLabels ? "linear probe, train labels shuffled (control)" : "linear probe on the embeddings";

    public static string Percent(double fraction) => (fraction * 100).ToString("F1", Invariant);

    public static string Render(ProbeResult probe, ProbeResult? control = null)
    {
        var text = new StringBuilder();
        text.Append("Linear probe (").Append(probe.Trainer).Append(", seed ").Append(probe.Seed).Append("): ")
            .Append(probe.Classes.ToString("N0", Invariant)).Append(" classes, ")
            .Append(probe.TrainImages.ToString("N0", Invariant)).Append(" train and ")
            .Append(probe.ValImages.ToString("N0", Invariant)).Append(" val images, embedding dimension ")
            .Append(probe.EmbeddingDimension).AppendLine();
        text.AppendLine();
        text.AppendLine("Table 3 layout: classification accuracy on val (%); Top1/Top5 count every val image once, the species means");
        text.AppendLine("weigh every species alike (an input-blind classifier scores 1/classes there, however unbalanced the classes)");
        var table3 = new List<string[]> { new[] { "model", "Top1", "Top5", "Top1 species mean", "Top5 species mean" } };
        table3.Add([ModelLabel(probe), Percent(probe.Top1), Percent(probe.Top5), Percent(probe.MeanClassTop1), Percent(probe.MeanClassTop5)]);
        if (control is not null)
            table3.Add([ModelLabel(control), Percent(control.Top1), Percent(control.Top5), Percent(control.MeanClassTop1), Percent(control.MeanClassTop5)]);
        table3.Add(["chance (1/classes)", "-", "-", Percent(probe.ChanceTop1), Percent(probe.ChanceTop5)]);
        table3.Add(["always the largest train class", Percent(probe.MajorityTop1), "-", "-", "-"]);
        Table(text, table3, leftAligned: 1);
        text.AppendLine();
        text.AppendLine("Table 4 layout: accuracy per super-class (%), averaged over its species with val images");
        var table4 = new List<string[]> { new[] { "super-class", "classes", "avg train", "val", "Top1", "Top5" } };
        foreach (ProbeSuperclassRow row in probe.Superclasses)
            table4.Add([row.Supercategory, row.Classes.ToString("N0", Invariant), row.AverageTrainImages.ToString("N1", Invariant),
                row.ValImages.ToString("N0", Invariant), Percent(row.Top1), Percent(row.Top5)]);
        table4.Add(["all (mean over classes)", probe.Classes.ToString("N0", Invariant),
            (probe.Classes == 0 ? 0 : (double)probe.TrainImages / probe.Classes).ToString("N1", Invariant),
            probe.ValImages.ToString("N0", Invariant), Percent(probe.MeanClassTop1), Percent(probe.MeanClassTop5)]);
        Table(text, table4, leftAligned: 1);
        return text.ToString();
    }

    private static void Table(StringBuilder text, List<string[]> rows, int leftAligned)
    {
        var widths = new int[rows[0].Length];
        foreach (string[] row in rows)
            for (int c = 0; c < row.Length; c++)
                widths[c] = Math.Max(widths[c], row[c].Length);
        foreach (string[] row in rows)
        {
            text.Append("  ");
            for (int c = 0; c < row.Length; c++)
            {
                if (c > 0) text.Append("  ");
                text.Append(c < leftAligned ? row[c].PadRight(widths[c]) : row[c].PadLeft(widths[c]));
            }
            text.AppendLine();
        }
    }
}
