using System.Runtime.CompilerServices;
using Parquet;
using Parquet.Schema;
using Pipeline.Schema;

namespace Pipeline.Storage;

/// <summary>The Parquet schema of quarantine rows: image_id, file_name, stage, error, message, worker, attempt.</summary>
internal sealed class ErrorRowSchema
{
    private ErrorRowSchema()
    {
        Schema = new ParquetSchema(ImageId, FileName, Stage, Error, Message, Worker, Attempt);
    }

    public DataField ImageId { get; } = new DataField<long>("image_id", false);
    public DataField FileName { get; } = new DataField<string>("file_name", false);
    public DataField Stage { get; } = new DataField<string>("stage", false);
    public DataField Error { get; } = new DataField<string>("error", false);
    public DataField Message { get; } = new DataField<string>("message", false);
    public DataField Worker { get; } = new DataField<string>("worker", false);
    public DataField Attempt { get; } = new DataField<int>("attempt", false);
    public ParquetSchema Schema { get; }

    public static ErrorRowSchema Create() => new();
}

/// <summary>Streams quarantine rows (<see cref="ErrorRow"/>) into one Parquet file, a row group at a time.</summary>
public sealed class ErrorRowWriter : RowGroupWriter<ErrorRow>
{
    private readonly ErrorRowSchema _schema;
    private readonly int _rowGroupRows;

    private ErrorRowWriter(Stream output, bool leaveOpen, ParquetWriter writer, ErrorRowSchema schema, int rowGroupRows)
        : base(output, leaveOpen, writer)
    {
        _schema = schema;
        _rowGroupRows = rowGroupRows;
    }

    public static async Task<ErrorRowWriter> CreateAsync(Stream output, ParquetLayoutOptions? options = null,
        bool leaveOpen = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        options ??= ParquetLayoutOptions.Default;
        options.Validate();
        var schema = ErrorRowSchema.Create();
        ParquetWriter writer = await ParquetWriter.CreateAsync(schema.Schema, output, options.ToParquetOptions(),
            append: false, cancellationToken).ConfigureAwait(false);
        return new ErrorRowWriter(output, leaveOpen, writer, schema, options.RowGroupMaxRows);
    }

    private protected override void Accept(ErrorRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (row.FileName is null || row.Stage is null || row.Error is null || row.Message is null || row.Worker is null)
            throw new ArgumentException($"quarantine row of image {row.ImageId}: no field may be null", nameof(row));
    }

    private protected override bool IsRowGroupFull(int rows) => rows >= _rowGroupRows;

    private protected override async Task WriteColumnsAsync(ParquetRowGroupWriter group, List<ErrorRow> rows,
        CancellationToken cancellationToken)
    {
        int n = rows.Count;
        var imageIds = new long[n];
        var fileNames = new string[n];
        var stages = new string[n];
        var errors = new string[n];
        var messages = new string[n];
        var workers = new string[n];
        var attempts = new int[n];
        for (int i = 0; i < n; i++)
        {
            ErrorRow row = rows[i];
            imageIds[i] = row.ImageId;
            fileNames[i] = row.FileName;
            stages[i] = row.Stage;
            errors[i] = row.Error;
            messages[i] = row.Message;
            workers[i] = row.Worker;
            attempts[i] = row.Attempt;
        }
        await group.WriteAsync(_schema.ImageId, (ReadOnlyMemory<long>)imageIds, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.WriteAsync(_schema.FileName, fileNames).ConfigureAwait(false);
        await group.WriteAsync(_schema.Stage, stages).ConfigureAwait(false);
        await group.WriteAsync(_schema.Error, errors).ConfigureAwait(false);
        await group.WriteAsync(_schema.Message, messages).ConfigureAwait(false);
        await group.WriteAsync(_schema.Worker, workers).ConfigureAwait(false);
        await group.WriteAsync(_schema.Attempt, (ReadOnlyMemory<int>)attempts, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>Reads quarantine rows back one row group at a time.</summary>
public sealed class ErrorRowReader : IAsyncDisposable
{
    private readonly ParquetReader _reader;
    private readonly DataField _imageId, _fileName, _stage, _error, _message, _worker, _attempt;

    private ErrorRowReader(ParquetReader reader, string name)
    {
        _reader = reader;
        var byPath = new Dictionary<string, DataField>(StringComparer.Ordinal);
        foreach (DataField field in reader.Schema.GetDataFields())
            byPath[field.Path.ToString()] = field;
        DataField Get(string path) => byPath.TryGetValue(path, out DataField? field)
            ? field
            : throw new InvalidDataException($"{name}: not a quarantine file, column '{path}' is missing");
        _imageId = Get("image_id");
        _fileName = Get("file_name");
        _stage = Get("stage");
        _error = Get("error");
        _message = Get("message");
        _worker = Get("worker");
        _attempt = Get("attempt");
        long rows = 0;
        for (int i = 0; i < reader.RowGroupCount; i++)
            rows += reader.OpenRowGroupReader(i).RowCount;
        RowCount = rows;
    }

    public static async Task<ErrorRowReader> OpenAsync(string path, CancellationToken cancellationToken = default)
    {
        ParquetReader reader = await ParquetReader.CreateAsync(path, null, cancellationToken).ConfigureAwait(false);
        try
        {
            return new ErrorRowReader(reader, path);
        }
        catch
        {
            await reader.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public long RowCount { get; }

    public int RowGroupCount => _reader.RowGroupCount;

    public async Task<ErrorRow[]> ReadRowGroupAsync(int index, CancellationToken cancellationToken = default)
    {
        ParquetRowGroupReader group = _reader.OpenRowGroupReader(index);
        int n = checked((int)group.RowCount);
        var imageIds = new long[n];
        var fileNames = new string?[n];
        var stages = new string?[n];
        var errors = new string?[n];
        var messages = new string?[n];
        var workers = new string?[n];
        var attempts = new int[n];
        await group.ReadAsync<long>(_imageId, imageIds, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync(_fileName, fileNames, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync(_stage, stages, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync(_error, errors, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync(_message, messages, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync(_worker, workers, cancellationToken: cancellationToken).ConfigureAwait(false);
        await group.ReadAsync<int>(_attempt, attempts, cancellationToken: cancellationToken).ConfigureAwait(false);
        var rows = new ErrorRow[n];
        for (int i = 0; i < n; i++)
            rows[i] = new ErrorRow(imageIds[i], fileNames[i] ?? "", stages[i] ?? "", errors[i] ?? "", messages[i] ?? "",
                workers[i] ?? "", attempts[i]);
        return rows;
    }

    public async IAsyncEnumerable<ErrorRow> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (int g = 0; g < RowGroupCount; g++)
        {
            ErrorRow[] rows = await ReadRowGroupAsync(g, cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < rows.Length; i++)
                yield return rows[i];
        }
    }

    public ValueTask DisposeAsync() => _reader.DisposeAsync();
}
