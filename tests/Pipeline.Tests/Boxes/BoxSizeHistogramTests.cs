using System.Text.Json;
using FsCheck;
using FsCheck.Xunit;
using Pipeline.Boxes;

namespace Pipeline.Tests.Boxes;

public class BoxSizeHistogramTests
{
    /// <summary>Relative sizes from arbitrary integers: spread over [0, 1] with the edges 0 and 1 well represented.</summary>
    private static double[] Sizes(uint[]? raw)
    {
        raw ??= [];
        var sizes = new double[raw.Length];
        for (int i = 0; i < raw.Length; i++)
            sizes[i] = (raw[i] % 7) switch
            {
                0 => 0.0,
                1 => 1.0,
                2 => (raw[i] % 51) / 50.0, // exact bin edges
                _ => raw[i] / (double)uint.MaxValue,
            };
        return sizes;
    }

    private static BoxSizeHistogram Of(uint[]? raw)
    {
        var histogram = new BoxSizeHistogram();
        foreach (double size in Sizes(raw)) histogram.Add(size);
        return histogram;
    }

    private static BoxSizeHistogramSet SetOf(uint[]? raw)
    {
        string[] splits = ["train", "val"];
        string[] supercategories = ["Aves", "Insecta", "Reptilia"];
        var set = new BoxSizeHistogramSet();
        raw ??= [];
        var sizes = Sizes(raw);
        for (int i = 0; i < raw.Length; i++)
            set.For(splits[raw[i] % 2], supercategories[(raw[i] / 2) % 3]).Add(sizes[i]);
        return set;
    }

    [Property]
    public bool Merge_is_commutative(uint[] a, uint[] b) =>
        BoxSizeHistogram.Merge(Of(a), Of(b)).Equals(BoxSizeHistogram.Merge(Of(b), Of(a)));

    [Property]
    public bool Merge_is_associative(uint[] a, uint[] b, uint[] c) =>
        BoxSizeHistogram.Merge(BoxSizeHistogram.Merge(Of(a), Of(b)), Of(c))
            .Equals(BoxSizeHistogram.Merge(Of(a), BoxSizeHistogram.Merge(Of(b), Of(c))));

    [Property]
    public bool Empty_histogram_is_the_identity_of_merge(uint[] a) =>
        BoxSizeHistogram.Merge(Of(a), new BoxSizeHistogram()).Equals(Of(a))
        && BoxSizeHistogram.Merge(new BoxSizeHistogram(), Of(a)).Equals(Of(a));

    [Property]
    public bool Merging_parts_equals_counting_everything_at_once(uint[] a, uint[] b) =>
        BoxSizeHistogram.Merge(Of(a), Of(b)).Equals(Of([.. a ?? [], .. b ?? []]));

    [Property]
    public bool Set_merge_is_commutative(uint[] a, uint[] b) =>
        BoxSizeHistogramSet.Merge(SetOf(a), SetOf(b)).Equals(BoxSizeHistogramSet.Merge(SetOf(b), SetOf(a)));

    [Property]
    public bool Set_merge_is_associative(uint[] a, uint[] b, uint[] c) =>
        BoxSizeHistogramSet.Merge(BoxSizeHistogramSet.Merge(SetOf(a), SetOf(b)), SetOf(c))
            .Equals(BoxSizeHistogramSet.Merge(SetOf(a), BoxSizeHistogramSet.Merge(SetOf(b), SetOf(c))));

    [Property]
    public bool Json_round_trip_is_the_identity(uint[] a)
    {
        var set = SetOf(a);
        var json = JsonSerializer.Serialize(set);
        var sourceGenerated = JsonSerializer.Serialize(set, BoxStatisticsJson.Default.BoxSizeHistogramSet);
        return set.Equals(JsonSerializer.Deserialize<BoxSizeHistogramSet>(json))
               && set.Equals(JsonSerializer.Deserialize(sourceGenerated, BoxStatisticsJson.Default.BoxSizeHistogramSet));
    }

    [Property]
    public bool Every_value_lands_in_a_bin_whose_edges_hold_it(uint[] a)
    {
        foreach (double size in Sizes(a))
        {
            int bin = BoxSizeHistogram.BinOf(size);
            bool inside = size >= BoxSizeHistogram.BinLow(bin) && (size < BoxSizeHistogram.BinHigh(bin) || bin == BoxSizeHistogram.BinCount - 1);
            if (!inside) return false;
        }
        return true;
    }

    [Theory]
    [InlineData(0.0, 0)]
    [InlineData(0.0199999, 0)]
    [InlineData(0.02, 1)]
    [InlineData(0.5, 25)]
    [InlineData(0.98, 49)]
    [InlineData(1.0, 49)]
    public void Bins_are_fifty_equal_steps_over_zero_to_one(double size, int bin)
    {
        Assert.Equal(bin, BoxSizeHistogram.BinOf(size));
    }

    [Fact]
    public void Value_over_one_counts_as_one_in_the_last_bin()
    {
        var histogram = new BoxSizeHistogram();
        histogram.Add(1.3);
        Assert.Equal(1, histogram.CountIn(49));
        Assert.Equal(1.0, histogram.Max);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public void Negative_or_NaN_size_is_refused(double size)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new BoxSizeHistogram().Add(size));
    }

    [Fact]
    public void Serialised_form_is_plain_arrays_and_numbers()
    {
        var set = new BoxSizeHistogramSet();
        set.For("train", "Aves").Add(0.3);

        using var json = JsonDocument.Parse(JsonSerializer.Serialize(set));

        var entry = json.RootElement.GetProperty("Entries")[0];
        Assert.Equal("train", entry.GetProperty("Split").GetString());
        Assert.Equal("Aves", entry.GetProperty("Supercategory").GetString());
        var histogram = entry.GetProperty("Histogram");
        Assert.Equal(50, histogram.GetProperty("Counts").GetArrayLength());
        Assert.Equal(1, histogram.GetProperty("Count").GetInt64());
        Assert.Equal(300_000_000, histogram.GetProperty("SumNanos").GetInt64());
        Assert.Equal(0.3, histogram.GetProperty("Min").GetDouble());
    }

    [Fact]
    public void Json_whose_counts_disagree_is_refused()
    {
        const string json = """{"Counts":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],"Count":2,"SumNanos":0,"Min":0,"Max":0}""";
        Assert.Throws<ArgumentException>(() => JsonSerializer.Deserialize<BoxSizeHistogram>(json));
    }

    [Fact]
    public void Set_entries_are_sorted_and_merge_per_key()
    {
        var left = new BoxSizeHistogramSet();
        left.For("val", "Aves").Add(0.1);
        left.For("train", "Insecta").Add(0.2);
        var right = new BoxSizeHistogramSet();
        right.For("train", "Insecta").Add(0.4);
        right.For("train", "Aves").Add(0.9);

        var merged = BoxSizeHistogramSet.Merge(left, right);

        var entries = merged.Entries;
        Assert.Equal([("train", "Aves"), ("train", "Insecta"), ("val", "Aves")], entries.Select(e => (e.Split, e.Supercategory)));
        Assert.Equal(2, merged.Find("train", "Insecta")!.Count);
        Assert.Equal(1, left.Find("train", "Insecta")!.Count); // inputs unchanged
    }
}
