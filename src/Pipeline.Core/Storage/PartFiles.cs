using Pipeline.Schema;

namespace Pipeline.Storage;

/// <summary>
/// What a worker reports after committing one attempt of a partition: small (it travels in a cluster message), no
/// row data. Paths are relative to the job's output folder with '/' separators, so any node can resolve them.
/// </summary>
public sealed record PartCommit(
    string PartitionId,
    int Attempt,
    string RowsPath,
    string ErrorsPath,
    long Rows,
    long ErrorRows,
    long RowsBytes,
    long ErrorsBytes,
    string RowsSha256,
    string ErrorsSha256);

/// <summary>
/// Committed parts: <c>parts/&lt;partition&gt;/attempt-&lt;n&gt;.parquet</c> holds the image rows and the sidecar
/// <c>attempt-&lt;n&gt;.errors.parquet</c> the quarantine rows (always written, possibly empty). Each is written under a
/// temporary name, fsynced and renamed into place, the errors file first, so a visible rows file means a whole attempt.
/// </summary>
public static class PartFiles
{
    public const string PartsFolder = "parts";

    // Footer metadata of a part file, read back by the merge to group parts by (split, supercategory).
    internal const string PartitionKey = "pipeline.partition";
    internal const string AttemptKey = "pipeline.attempt";
    internal const string SplitKey = "pipeline.split";
    internal const string SupercategoryKey = "pipeline.supercategory";

    public static string RowsRelativePath(string partitionId, int attempt)
    {
        ValidatePartitionId(partitionId);
        ValidateAttempt(attempt);
        return $"{PartsFolder}/{partitionId}/attempt-{attempt}.parquet";
    }

    public static string ErrorsRelativePath(string partitionId, int attempt)
    {
        ValidatePartitionId(partitionId);
        ValidateAttempt(attempt);
        return $"{PartsFolder}/{partitionId}/attempt-{attempt}.errors.parquet";
    }

    /// <summary>Turns a '/'-separated path relative to the output folder into a local path.</summary>
    public static string Resolve(string outDir, string relativePath) =>
        Path.Combine(outDir, relativePath.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>Partition ids become folder names: letters, digits, '.', '_' and '-', not starting with '.'.</summary>
    public static void ValidatePartitionId(string partitionId)
    {
        ArgumentNullException.ThrowIfNull(partitionId);
        bool valid = partitionId.Length is > 0 and <= 200 && partitionId[0] != '.';
        for (int i = 0; valid && i < partitionId.Length; i++)
        {
            char c = partitionId[i];
            valid = char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.';
        }
        if (!valid)
            throw new ArgumentException(
                $"partition id '{partitionId}' must be 1-200 characters of letters, digits, '.', '_' or '-', not starting with '.'",
                nameof(partitionId));
    }

    private static void ValidateAttempt(int attempt) =>
        ArgumentOutOfRangeException.ThrowIfNegative(attempt);

    /// <summary>Writes and commits one attempt of a partition from rows already at hand.</summary>
    public static async Task<PartCommit> WriteAttemptAsync(string outDir, string partitionId, int attempt,
        IEnumerable<ImageRow> rows, IEnumerable<ErrorRow> errors, ParquetLayoutOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(errors);
        await using PartAttemptWriter writer = await PartAttemptWriter.CreateAsync(outDir, partitionId, attempt, options,
            cancellationToken).ConfigureAwait(false);
        foreach (ImageRow row in rows)
            await writer.AddAsync(row, cancellationToken).ConfigureAwait(false);
        foreach (ErrorRow error in errors)
            await writer.AddErrorAsync(error, cancellationToken).ConfigureAwait(false);
        return await writer.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes <c>parts/</c> (recorded and unrecorded attempts alike) once the merged dataset is published, i.e. its
    /// <c>_SUCCESS</c> exists; returns the bytes freed. Refuses while no dataset is published: the parts are the only copy.
    /// </summary>
    public static long DeleteMergedParts(string outDir)
    {
        ArgumentNullException.ThrowIfNull(outDir);
        if (!File.Exists(Path.Combine(outDir, DatasetMerger.DatasetFolder, DatasetMerger.SuccessFile)))
            throw new InvalidOperationException($"no published dataset in '{outDir}': the parts are not merged yet");
        string parts = Path.Combine(outDir, PartsFolder);
        if (!Directory.Exists(parts))
            return 0;
        long freed = 0;
        foreach (string file in Directory.EnumerateFiles(parts, "*", SearchOption.AllDirectories))
            freed += new FileInfo(file).Length;
        Directory.Delete(parts, recursive: true);
        return freed;
    }

    /// <summary>Blocking form of <see cref="WriteAttemptAsync"/> for callers without async (the CLI, tests).</summary>
    public static PartCommit WriteAttempt(string outDir, string partitionId, int attempt, IEnumerable<ImageRow> rows,
        IEnumerable<ErrorRow> errors, ParquetLayoutOptions? options = null) =>
        Task.Run(() => WriteAttemptAsync(outDir, partitionId, attempt, rows, errors, options)).GetAwaiter().GetResult();
}

/// <summary>
/// Writes one attempt of a partition as rows arrive (a worker adds each embedding batch as it completes), then
/// commits it atomically. Disposing without <see cref="CommitAsync"/> deletes the temporary files: nothing is visible.
/// Every row of a partition must share one (split, supercategory).
/// </summary>
public sealed class PartAttemptWriter : IAsyncDisposable
{
    private readonly string _outDir;
    private readonly string _rowsTemporaryPath;
    private readonly string _errorsTemporaryPath;
    private readonly Sha256WriteStream _rowsStream;
    private readonly Sha256WriteStream _errorsStream;
    private readonly ImagePartWriter _rows;
    private readonly ErrorRowWriter _errors;
    private string? _split;
    private string? _supercategory;
    private bool _committed;
    private bool _disposed;

    private PartAttemptWriter(string outDir, string partitionId, int attempt, string rowsTemporaryPath,
        string errorsTemporaryPath, Sha256WriteStream rowsStream, Sha256WriteStream errorsStream,
        ImagePartWriter rows, ErrorRowWriter errors)
    {
        _outDir = outDir;
        PartitionId = partitionId;
        Attempt = attempt;
        _rowsTemporaryPath = rowsTemporaryPath;
        _errorsTemporaryPath = errorsTemporaryPath;
        _rowsStream = rowsStream;
        _errorsStream = errorsStream;
        _rows = rows;
        _errors = errors;
    }

    public static async Task<PartAttemptWriter> CreateAsync(string outDir, string partitionId, int attempt,
        ParquetLayoutOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(outDir);
        string rowsPath = PartFiles.Resolve(outDir, PartFiles.RowsRelativePath(partitionId, attempt));
        string errorsPath = PartFiles.Resolve(outDir, PartFiles.ErrorsRelativePath(partitionId, attempt));
        if (File.Exists(rowsPath) || File.Exists(errorsPath))
            throw new IOException($"attempt {attempt} of partition {partitionId} is already committed at '{rowsPath}'; a retry needs a new attempt number");
        Directory.CreateDirectory(Path.GetDirectoryName(rowsPath)!);

        string rowsTemporary = DurableFiles.TemporaryPathFor(rowsPath);
        string errorsTemporary = DurableFiles.TemporaryPathFor(errorsPath);
        Sha256WriteStream? rowsStream = null, errorsStream = null;
        ImagePartWriter? rows = null;
        try
        {
            rowsStream = Sha256WriteStream.CreateNew(rowsTemporary);
            errorsStream = Sha256WriteStream.CreateNew(errorsTemporary);
            rows = await ImagePartWriter.CreateAsync(rowsStream, ImageFileLayout.Part, options, leaveOpen: true,
                cancellationToken).ConfigureAwait(false);
            ErrorRowWriter errors = await ErrorRowWriter.CreateAsync(errorsStream, options, leaveOpen: true,
                cancellationToken).ConfigureAwait(false);
            return new PartAttemptWriter(outDir, partitionId, attempt, rowsTemporary, errorsTemporary, rowsStream,
                errorsStream, rows, errors);
        }
        catch
        {
            if (rows is not null)
                await rows.DisposeAsync().ConfigureAwait(false);
            if (rowsStream is not null)
                await rowsStream.DisposeAsync().ConfigureAwait(false);
            if (errorsStream is not null)
                await errorsStream.DisposeAsync().ConfigureAwait(false);
            DurableFiles.TryDelete(rowsTemporary);
            DurableFiles.TryDelete(errorsTemporary);
            throw;
        }
    }

    public string PartitionId { get; }
    public int Attempt { get; }
    public long Rows => _rows.RowCount;
    public long ErrorRows => _errors.RowCount;

    public ValueTask AddAsync(ImageRow row, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed || _committed, this);
        ImagePartWriter.ValidateRow(row, ImageFileLayout.Part);
        if (_split is null)
        {
            _split = row.Split;
            _supercategory = row.Supercategory;
        }
        else if (!string.Equals(_split, row.Split, StringComparison.Ordinal)
                 || !string.Equals(_supercategory, row.Supercategory, StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"image {row.ImageId} is in ({row.Split}, {row.Supercategory}) but partition {PartitionId} holds ({_split}, {_supercategory}): a partition lies inside one split and supercategory",
                nameof(row));
        }
        return _rows.WriteAsync(row, cancellationToken);
    }

    public ValueTask AddErrorAsync(ErrorRow error, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed || _committed, this);
        return _errors.WriteAsync(error, cancellationToken);
    }

    /// <summary>Finishes both files, fsyncs them and renames them into place (errors first, then rows).</summary>
    public async Task<PartCommit> CommitAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed || _committed, this);
        var metadata = new Dictionary<string, string>
        {
            [PartFiles.PartitionKey] = PartitionId,
            [PartFiles.AttemptKey] = Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (_split is not null && _supercategory is not null)
        {
            metadata[PartFiles.SplitKey] = _split;
            metadata[PartFiles.SupercategoryKey] = _supercategory;
        }
        await _rows.CompleteAsync(metadata, cancellationToken).ConfigureAwait(false);
        await _errors.CompleteAsync(metadata, cancellationToken).ConfigureAwait(false);
        string rowsSha256 = _rowsStream.FlushToDiskAndHash();
        string errorsSha256 = _errorsStream.FlushToDiskAndHash();
        long rowsBytes = _rowsStream.Position;
        long errorsBytes = _errorsStream.Position;
        await _rowsStream.DisposeAsync().ConfigureAwait(false);
        await _errorsStream.DisposeAsync().ConfigureAwait(false);

        string rowsRelative = PartFiles.RowsRelativePath(PartitionId, Attempt);
        string errorsRelative = PartFiles.ErrorsRelativePath(PartitionId, Attempt);
        DurableFiles.MoveIntoPlace(_errorsTemporaryPath, PartFiles.Resolve(_outDir, errorsRelative));
        DurableFiles.MoveIntoPlace(_rowsTemporaryPath, PartFiles.Resolve(_outDir, rowsRelative));
        _committed = true;
        return new PartCommit(PartitionId, Attempt, rowsRelative, errorsRelative, _rows.RowCount, _errors.RowCount,
            rowsBytes, errorsBytes, rowsSha256, errorsSha256);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        if (_committed)
            return;
        await DisposeAbandonedAsync(_rows).ConfigureAwait(false);
        await DisposeAbandonedAsync(_errors).ConfigureAwait(false);
        await DisposeAbandonedAsync(_rowsStream).ConfigureAwait(false);
        await DisposeAbandonedAsync(_errorsStream).ConfigureAwait(false);
        DurableFiles.TryDelete(_rowsTemporaryPath);
        DurableFiles.TryDelete(_errorsTemporaryPath);
    }

    /// <summary>
    /// Closes a writer of an attempt that will never be committed. On a full disk its last flush fails too; that must not
    /// keep the temporary files (and their space) on the disk, nor hide the error that abandoned the attempt.
    /// </summary>
    private static async ValueTask DisposeAbandonedAsync(IAsyncDisposable writer)
    {
        try
        {
            await writer.DisposeAsync().ConfigureAwait(false);
        }
        catch (IOException)
        {
        }
    }
}
