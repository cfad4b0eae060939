using Parquet;

namespace Pipeline.Storage;

/// <summary>
/// One Parquet file written a row group at a time: rows are buffered only until the subclass says a row group is full,
/// then encoded and written, so memory stays at about one row group whatever the file size. Call
/// <see cref="CompleteAsync"/> to write the last row group and the footer; a writer disposed without it leaves no valid
/// Parquet file (disposing the Parquet writer would write a footer and make a partial file look valid).
/// </summary>
public abstract class RowGroupWriter<TRow> : IAsyncDisposable
{
    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly ParquetWriter _writer;
    private readonly List<TRow> _pending = [];
    private bool _completed;
    private bool _disposed;

    private protected RowGroupWriter(Stream output, bool leaveOpen, ParquetWriter writer)
    {
        _output = output;
        _leaveOpen = leaveOpen;
        _writer = writer;
    }

    /// <summary>Rows accepted so far (written or buffered).</summary>
    public long RowCount { get; private set; }

    /// <summary>Row groups written so far.</summary>
    public int RowGroupCount { get; private set; }

    private protected Stream Output => _output;

    public ValueTask WriteAsync(TRow row, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed || _completed, this);
        Accept(row);
        _pending.Add(row);
        RowCount++;
        return IsRowGroupFull(_pending.Count)
            ? new ValueTask(FlushRowGroupAsync(cancellationToken))
            : ValueTask.CompletedTask;
    }

    /// <summary>Writes the last row group and the footer (with optional key-value metadata) and flushes the stream.</summary>
    public async Task CompleteAsync(IReadOnlyDictionary<string, string>? metadata = null,
        CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed || _completed, this);
        await FlushRowGroupAsync(cancellationToken).ConfigureAwait(false);
        if (metadata is not null)
            _writer.CustomMetadata = metadata;
        await _writer.DisposeAsync().ConfigureAwait(false);
        _completed = true;
        await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        // An incomplete writer is not disposed: that would write a footer and make a partial file look valid.
        if (!_leaveOpen)
            await _output.DisposeAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Checks a row before it is buffered (throws <see cref="ArgumentException"/>) and counts its size.</summary>
    private protected abstract void Accept(TRow row);

    /// <summary>Whether the buffered rows (<paramref name="rows"/> of them) make a row group.</summary>
    private protected abstract bool IsRowGroupFull(int rows);

    /// <summary>Writes every column of <paramref name="rows"/> into <paramref name="group"/>.</summary>
    private protected abstract Task WriteColumnsAsync(ParquetRowGroupWriter group, List<TRow> rows,
        CancellationToken cancellationToken);

    /// <summary>Called once a row group is written and the buffer emptied.</summary>
    private protected virtual void OnRowGroupWritten(int rows)
    {
    }

    private async Task FlushRowGroupAsync(CancellationToken cancellationToken)
    {
        int rows = _pending.Count;
        if (rows == 0)
            return;
        using (ParquetRowGroupWriter group = _writer.CreateRowGroup())
        {
            await WriteColumnsAsync(group, _pending, cancellationToken).ConfigureAwait(false);
            group.CompleteValidate();
        }
        _pending.Clear();
        RowGroupCount++;
        OnRowGroupWritten(rows);
    }
}
