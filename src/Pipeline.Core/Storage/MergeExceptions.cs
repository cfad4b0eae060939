namespace Pipeline.Storage;

/// <summary>
/// The merge found rows that do not add up (input images ≠ output rows + quarantined rows, a part holding other
/// rows than its commit recorded, an image twice). Nothing was published: no <c>_SUCCESS</c> was written.
/// </summary>
public sealed class MergeInvariantException : Exception
{
    public MergeInvariantException(string message, long inputImages, long outputRows, long quarantinedRows)
        : base(message)
    {
        InputImages = inputImages;
        OutputRows = outputRows;
        QuarantinedRows = quarantinedRows;
    }

    public long InputImages { get; }
    public long OutputRows { get; }
    public long QuarantinedRows { get; }
}

/// <summary>A recorded part is missing, has another size, or its sha256 differs from the one its commit recorded.</summary>
public sealed class CorruptPartException : IOException
{
    public CorruptPartException(string partitionId, int attempt, string path, string expectedSha256, string? actualSha256, string reason)
        : base($"recorded part {partitionId} attempt {attempt} at '{path}' {reason} (expected sha256 {expectedSha256}, found {actualSha256 ?? "none"})")
    {
        PartitionId = partitionId;
        Attempt = attempt;
        PartPath = path;
        ExpectedSha256 = expectedSha256;
        ActualSha256 = actualSha256;
    }

    public string PartitionId { get; }
    public int Attempt { get; }
    public string PartPath { get; }
    public string ExpectedSha256 { get; }
    public string? ActualSha256 { get; }
}
