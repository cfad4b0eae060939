using System.Text.Json.Serialization;

namespace Pipeline.Boxes;

/// <summary>One histogram of the set with its key, the form the set is serialised in.</summary>
public sealed record BoxSizeHistogramEntry(string Split, string Supercategory, BoxSizeHistogram Histogram);

/// <summary>
/// Box size histograms keyed by (split, super-class), as a partition or a whole job collects them. Merges like its
/// histograms (associative, commutative). Serialises as <see cref="Entries"/>, sorted by split then super-class.
/// Not thread-safe: one set per partition task, merged afterwards.
/// </summary>
public sealed class BoxSizeHistogramSet : IEquatable<BoxSizeHistogramSet>
{
    private readonly Dictionary<(string Split, string Supercategory), BoxSizeHistogram> _byKey = new();

    public BoxSizeHistogramSet()
    {
    }

    /// <summary>Rebuilds a set from its entries; a key given twice is merged, not overwritten.</summary>
    [JsonConstructor]
    public BoxSizeHistogramSet(IReadOnlyList<BoxSizeHistogramEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var entry in entries)
        {
            ArgumentNullException.ThrowIfNull(entry.Split, "entry.Split");
            ArgumentNullException.ThrowIfNull(entry.Supercategory, "entry.Supercategory");
            ArgumentNullException.ThrowIfNull(entry.Histogram, "entry.Histogram");
            For(entry.Split, entry.Supercategory).MergeFrom(entry.Histogram);
        }
    }

    /// <summary>Every histogram with its key, sorted by split then super-class (ordinal).</summary>
    public IReadOnlyList<BoxSizeHistogramEntry> Entries
    {
        get
        {
            var entries = new List<BoxSizeHistogramEntry>(_byKey.Count);
            foreach (var (key, histogram) in _byKey)
                entries.Add(new BoxSizeHistogramEntry(key.Split, key.Supercategory, histogram));
            entries.Sort(static (a, b) =>
            {
                int bySplit = string.CompareOrdinal(a.Split, b.Split);
                return bySplit != 0 ? bySplit : string.CompareOrdinal(a.Supercategory, b.Supercategory);
            });
            return entries;
        }
    }

    /// <summary>The histogram for the key, created empty on first use; add boxes to it directly on the hot path.</summary>
    public BoxSizeHistogram For(string split, string supercategory)
    {
        if (!_byKey.TryGetValue((split, supercategory), out var histogram))
        {
            histogram = new BoxSizeHistogram();
            _byKey.Add((split, supercategory), histogram);
        }
        return histogram;
    }

    /// <summary>The histogram for the key, or null if no box was counted under it.</summary>
    public BoxSizeHistogram? Find(string split, string supercategory) =>
        _byKey.GetValueOrDefault((split, supercategory));

    public void MergeFrom(BoxSizeHistogramSet other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var (key, histogram) in other._byKey)
            For(key.Split, key.Supercategory).MergeFrom(histogram);
    }

    /// <summary>A new set holding both; neither input changes.</summary>
    public static BoxSizeHistogramSet Merge(BoxSizeHistogramSet left, BoxSizeHistogramSet right)
    {
        var merged = new BoxSizeHistogramSet();
        merged.MergeFrom(left);
        merged.MergeFrom(right);
        return merged;
    }

    /// <summary>Equal when the same keys hold equal histograms; an empty histogram counts the same as a missing key.</summary>
    public bool Equals(BoxSizeHistogramSet? other)
    {
        if (other is null) return false;
        return Covers(this, other) && Covers(other, this);

        static bool Covers(BoxSizeHistogramSet a, BoxSizeHistogramSet b)
        {
            foreach (var (key, histogram) in a._byKey)
            {
                var match = b._byKey.GetValueOrDefault(key);
                if (match is null ? histogram.Count != 0 : !histogram.Equals(match))
                    return false;
            }
            return true;
        }
    }

    public override bool Equals(object? obj) => Equals(obj as BoxSizeHistogramSet);

    public override int GetHashCode()
    {
        long total = 0;
        foreach (var histogram in _byKey.Values) total += histogram.Count;
        return total.GetHashCode();
    }
}
