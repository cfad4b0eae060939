using System.Reflection;
using System.Text.Json;
using Pipeline.Analysis.Stats;

namespace Pipeline.Tests.Stats;

public class StatsReportTests
{
    /// <summary>A report holding the paper's Table 2, as the full-scale corpus would produce it.</summary>
    private static StatsReport PaperScaleReport()
    {
        var rows = new List<SuperclassRow>();
        foreach (PaperSuperclassRow paper in PaperFigures.Table2)
            rows.Add(new SuperclassRow(paper.Supercategory, paper.Classes, paper.TrainImages, paper.ValImages, paper.Boxes ?? 0, 0, paper.Boxes ?? 0));
        PaperSuperclassRow total = PaperFigures.Table2Total;
        var histogram = new List<HistogramBin>();
        for (int i = 0; i < 20; i++)
            histogram.Add(new HistogramBin(i / 20.0, (i + 1) / 20.0, i));
        return new StatsReport(
            "/data/inat2017",
            new ImageTotals(579_184, 95_986, 182_707, 0, 0, 496_164, 48_736),
            new ImbalanceFigures(5_089, new ClassCount(7, "Turdus migratorius", "Aves", 3_919), new ClassCount(9, "Aloe × spinosissima", "Plantae", 9), 435.44),
            rows,
            new SuperclassRow("Total", total.Classes, total.TrainImages, total.ValImages, total.Boxes!.Value, 0, total.Boxes.Value),
            new ClassDistribution(5_089, 0, 51, 94_000, 0.162297, new Quantiles(9, 20, 30, 60, 130, 300, 1_500, 3_919)),
            [new BoxSizeSummary("Aves", 311_669, new Quantiles(0.01, 0.1, 0.2, 0.3, 0.45, 0.6, 0.9, 1), 0.1, 0.3, 0.6, histogram)],
            new IssueSummary(2, 1, [new IssueCount("box_outside_image", 1, true), new IssueCount("image_without_label", 1, false)],
                [new IssueSample("box_outside_image", "val_2017_bboxes.json byte 10: box 4: outside")]));
    }

    [Fact]
    public void Json_uses_the_documented_snake_case_names()
    {
        using JsonDocument json = JsonDocument.Parse(PaperScaleReport().ToJson());
        JsonElement root = json.RootElement;

        Assert.Equal(["schema_version", "corpus", "images", "imbalance", "superclasses", "total", "train_images_per_class", "box_sizes", "issues"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, root.GetProperty("schema_version").GetInt32());
        Assert.Equal(435.44, root.GetProperty("imbalance").GetProperty("imbalance").GetDouble());
        Assert.Equal(3_919, root.GetProperty("imbalance").GetProperty("largest_class").GetProperty("train_images").GetInt64());
        Assert.Equal(158_407, root.GetProperty("superclasses")[0].GetProperty("train_images").GetInt64());
        Assert.Equal(0.162297, root.GetProperty("train_images_per_class").GetProperty("top_1pct_share").GetDouble());
        Assert.Equal(60, root.GetProperty("train_images_per_class").GetProperty("quantiles").GetProperty("p50").GetDouble());
        Assert.Equal(0.05, root.GetProperty("box_sizes")[0].GetProperty("histogram")[1].GetProperty("lo").GetDouble());
        Assert.Equal("image_without_label", root.GetProperty("issues").GetProperty("counts")[1].GetProperty("code").GetString());
        Assert.Equal(496_164, root.GetProperty("images").GetProperty("train_boxes").GetInt64());
    }

    [Fact]
    public void Json_keeps_utf8_names_readable()
    {
        string json = PaperScaleReport().ToJson();

        Assert.Contains("\"Aloe × spinosissima\"", json);
    }

    [Fact]
    public void Json_writes_absent_figures_as_null_rather_than_dropping_them()
    {
        StatsReport report = PaperScaleReport() with { Imbalance = new ImbalanceFigures(0, null, null, null) };

        using JsonDocument json = JsonDocument.Parse(report.ToJson());

        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("imbalance").GetProperty("imbalance").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("imbalance").GetProperty("largest_class").ValueKind);
    }

    [Fact]
    public void Text_tables_use_thousands_separators()
    {
        string text = PaperScaleReport().ToText();

        Assert.Contains("158,407", text);
        Assert.Contains("579,184", text);
        Assert.Contains("435.44", text);
        Assert.Contains("16.23%", text);
    }

    [Fact]
    public void Text_table2_columns_are_aligned()
    {
        string[] lines = PaperScaleReport().ToText().Split('\n');
        int header = Array.FindIndex(lines, l => l.TrimStart().StartsWith("super-class  ", StringComparison.Ordinal));
        string[] table = lines.Skip(header).TakeWhile(l => l.Length > 0).Where(l => !l.TrimStart().StartsWith('-')).ToArray();

        Assert.Equal(1 + 13 + 1, table.Length);
        // Right-aligned numbers: every row ends at the same column, and the classes column ends at one position.
        Assert.Single(table.Select(l => l.Length).Distinct());
        int classesEnd = table[0].IndexOf("classes", StringComparison.Ordinal) + "classes".Length;
        Assert.All(table.Skip(1), l => Assert.True(char.IsDigit(l[classesEnd - 1]) && l[classesEnd] == ' ', l));
        Assert.Contains(table, l => l.Contains("Plantae") && l.Contains("2,101") && l.Contains("38,206"));
    }

    [Fact]
    public void Text_lists_issue_counts_and_samples()
    {
        string text = PaperScaleReport().ToText();

        Assert.Contains("box_outside_image", text);
        Assert.Contains("val_2017_bboxes.json byte 10: box 4: outside", text);
    }

    [Fact]
    public void Paper_table2_rows_sum_to_its_totals()
    {
        PaperSuperclassRow total = PaperFigures.Table2Total;

        Assert.Equal(total.Classes, PaperFigures.Table2.Sum(r => r.Classes));
        Assert.Equal(total.TrainImages, PaperFigures.Table2.Sum(r => r.TrainImages));
        Assert.Equal(total.ValImages, PaperFigures.Table2.Sum(r => r.ValImages));
        Assert.Equal(total.Boxes, PaperFigures.Table2.Sum(r => r.Boxes ?? 0));
        Assert.Equal(PaperFigures.TrainValImages, total.TrainImages + total.ValImages);
    }

    [Fact]
    public void Paper_table2_classes_match_the_embedded_species_list()
    {
        using Stream csv = typeof(Pipeline.Synth.SpeciesCatalog).Assembly.GetManifestResourceStream("inat2017_categories.csv")!;
        using var reader = new StreamReader(csv);
        var classes = new Dictionary<string, int>();
        reader.ReadLine();
        while (reader.ReadLine() is string line)
        {
            string[] fields = line.Split(',');
            string supercategory = fields[^2];
            classes[supercategory] = classes.GetValueOrDefault(supercategory) + 1;
        }

        Assert.Equal(PaperFigures.Table2.ToDictionary(r => r.Supercategory, r => r.Classes), classes);
    }
}
