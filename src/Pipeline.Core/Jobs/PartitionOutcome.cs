using System.Text.Json.Serialization;
using Pipeline.Storage;

namespace Pipeline.Jobs;

/// <summary>
/// A partition's box-size histogram in plain form (50 bins over [0, 1], see BoxSizeHistogram); the sum is in
/// nano-units so that merging stays exact.
/// </summary>
public sealed record BoxHistogramData(long[] Counts, long Count, long SumNanos, double Min, double Max);

/// <summary>Images and boxes of one species inside one partition.</summary>
public sealed record ClassTally(int CategoryId, string Species, int Images, int Boxes);

/// <summary>
/// What a worker reports when a partition attempt is written: the committed part (paths, counts, sha256), the
/// partition's statistics and quarantine counts by kind. No row data: this travels in one cluster message.
/// </summary>
public sealed record PartitionOutcome(
    PartCommit Part,
    string Worker,
    BoxHistogramData Histogram,
    ClassTally[] Classes,
    Dictionary<string, int> QuarantineByKind,
    int SizeMismatches,
    double Seconds)
{
    [JsonIgnore] public string PartitionId => Part.PartitionId;
    [JsonIgnore] public int Attempt => Part.Attempt;
    [JsonIgnore] public int Rows => (int)Part.Rows;
    [JsonIgnore] public int Quarantined => (int)Part.ErrorRows;
}
