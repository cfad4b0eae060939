namespace Pipeline.Processing;

/// <summary>A partition's box-size histogram in plain form (bins over [0, 1]); it travels in commit messages and the journal.</summary>
public sealed record BoxHistogramData(long[] Counts, long Count, double Sum, double Min, double Max);

/// <summary>Images and boxes of one species inside one partition.</summary>
public sealed record ClassTally(int CategoryId, int Images, int Boxes);

/// <summary>
/// What a worker reports when a partition attempt is written: where the part is, how many rows and quarantined images
/// it holds, its sha256, and the partition's statistics. No row data: this travels in one cluster message.
/// </summary>
public sealed record PartitionOutcome(
    string PartitionId,
    int Attempt,
    string Worker,
    string PartPath,
    string? ErrorsPath,
    int Rows,
    int Quarantined,
    long Bytes,
    string Sha256,
    BoxHistogramData Histogram,
    ClassTally[] Classes,
    Dictionary<string, int> QuarantineByKind,
    double Seconds);
