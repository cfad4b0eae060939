using Parquet;

namespace Pipeline.Storage;

/// <summary>
/// How big the Parquet pieces are: row groups sized for readers (tens of MB), files sized for storage (hundreds of MB).
/// Tests shrink these to see rolling and several row groups with a handful of rows.
/// </summary>
public sealed record ParquetLayoutOptions
{
    public static ParquetLayoutOptions Default { get; } = new();

    /// <summary>A row group is flushed once its buffered rows reach about this many bytes (estimated, uncompressed).</summary>
    public long RowGroupTargetBytes { get; init; } = 32L << 20;

    /// <summary>A row group is flushed at this many rows even if small (rows without image or embedding are tiny).</summary>
    public int RowGroupMaxRows { get; init; } = 65_536;

    /// <summary>A dataset file is closed and the next part-&lt;nnnnn&gt; started once it reaches about this many bytes.</summary>
    public long MaxFileBytes { get; init; } = 256L << 20;

    /// <summary>
    /// None by default: JPEG bytes and float embeddings do not compress (Snappy saved under 1% here), while Parquet.Net's
    /// Snappy path doubled read time and tripled the writer's transient memory (bench/results/storage.md).
    /// </summary>
    public CompressionMethod Compression { get; init; } = CompressionMethod.None;

    internal void Validate()
    {
        if (RowGroupTargetBytes <= 0)
            throw new ArgumentOutOfRangeException(nameof(RowGroupTargetBytes), RowGroupTargetBytes, "must be positive");
        if (RowGroupMaxRows <= 0)
            throw new ArgumentOutOfRangeException(nameof(RowGroupMaxRows), RowGroupMaxRows, "must be positive");
        if (MaxFileBytes <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxFileBytes), MaxFileBytes, "must be positive");
    }

    internal ParquetOptions ToParquetOptions() => new() { CompressionMethod = Compression };
}
