using Pipeline.Schema;

namespace Pipeline.Storage;

/// <summary>
/// Writes the image rows of one (split, supercategory) of the dataset as
/// <c>images/split=…/supercategory=…/part-&lt;nnnnn&gt;.parquet</c>, rolling to the next file at
/// <see cref="ParquetLayoutOptions.MaxFileBytes"/>: files sized for storage, not one tiny file per partition.
/// </summary>
internal sealed class HivePartitionWriter : IAsyncDisposable
{
    private readonly string _datasetDir;
    private readonly string _split;
    private readonly string _supercategory;
    private readonly string _relativeFolder;
    private readonly ParquetLayoutOptions _options;
    private readonly List<DatasetFileEntry> _files = [];
    private Sha256WriteStream? _stream;
    private ImagePartWriter? _writer;
    private string? _relativePath;
    private int _nextFileIndex;

    public HivePartitionWriter(string datasetDir, string split, string supercategory, ParquetLayoutOptions options)
    {
        _datasetDir = datasetDir;
        _split = split;
        _supercategory = supercategory;
        _relativeFolder = DatasetMerger.ImagesFolder + "/" + HivePath.PartitionFolder(split, supercategory);
        _options = options;
    }

    public long RowCount { get; private set; }

    public async ValueTask WriteAsync(ImageRow row, CancellationToken cancellationToken)
    {
        if (!string.Equals(row.Split, _split, StringComparison.Ordinal)
            || !string.Equals(row.Supercategory, _supercategory, StringComparison.Ordinal))
            throw new InvalidDataException(
                $"image {row.ImageId} is in ({row.Split}, {row.Supercategory}), not in ({_split}, {_supercategory}) like its part says");
        if (_writer is null)
            await OpenNextFileAsync(cancellationToken).ConfigureAwait(false);
        await _writer!.WriteAsync(row, cancellationToken).ConfigureAwait(false);
        RowCount++;
        if (_writer.EstimatedFileBytes >= _options.MaxFileBytes)
            await CloseFileAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the open file and returns every file written, in order.</summary>
    public async Task<IReadOnlyList<DatasetFileEntry>> CompleteAsync(CancellationToken cancellationToken)
    {
        await CloseFileAsync(cancellationToken).ConfigureAwait(false);
        return _files;
    }

    public async ValueTask DisposeAsync()
    {
        if (_writer is not null)
            await _writer.DisposeAsync().ConfigureAwait(false);
        if (_stream is not null)
            await _stream.DisposeAsync().ConfigureAwait(false);
        _writer = null;
        _stream = null;
    }

    private async Task OpenNextFileAsync(CancellationToken cancellationToken)
    {
        _relativePath = $"{_relativeFolder}/part-{_nextFileIndex++:D5}.parquet";
        string path = PartFiles.Resolve(_datasetDir, _relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        _stream = Sha256WriteStream.CreateNew(path);
        _writer = await ImagePartWriter.CreateAsync(_stream, ImageFileLayout.Dataset, _options, leaveOpen: true,
            cancellationToken).ConfigureAwait(false);
    }

    private async Task CloseFileAsync(CancellationToken cancellationToken)
    {
        if (_writer is null || _stream is null || _relativePath is null)
            return;
        await _writer.CompleteAsync(null, cancellationToken).ConfigureAwait(false);
        string sha256 = _stream.FlushToDiskAndHash();
        _files.Add(new DatasetFileEntry(_relativePath, _writer.RowCount, _stream.Position, sha256));
        await _writer.DisposeAsync().ConfigureAwait(false);
        await _stream.DisposeAsync().ConfigureAwait(false);
        _writer = null;
        _stream = null;
        _relativePath = null;
    }
}
