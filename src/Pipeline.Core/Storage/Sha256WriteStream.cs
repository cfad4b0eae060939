using System.Security.Cryptography;

namespace Pipeline.Storage;

/// <summary>
/// A forward-only file stream that hashes what it writes, so a part's sha256 costs no second read of the file.
/// Parquet.Net writes strictly forward and only reads <see cref="Position"/>.
/// </summary>
internal sealed class Sha256WriteStream : Stream
{
    private readonly FileStream _file;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _position;
    private string? _sha256;

    private Sha256WriteStream(FileStream file) => _file = file;

    /// <summary>Creates the file; fails if it already exists, so two writers never share a path.</summary>
    public static Sha256WriteStream CreateNew(string path) =>
        new(new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20,
            FileOptions.SequentialScan));

    public string Path => _file.Name;

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _position;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException("Sha256WriteStream is forward-only");
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _hash.AppendData(buffer);
        _file.Write(buffer);
        _position += buffer.Length;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        _hash.AppendData(buffer.Span);
        await _file.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        _position += buffer.Length;
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush() => _file.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _file.FlushAsync(cancellationToken);

    /// <summary>Flushes to the disk (fsync) and returns the lowercase hex sha256 of everything written.</summary>
    public string FlushToDiskAndHash()
    {
        _file.Flush(flushToDisk: true);
        _sha256 ??= Convert.ToHexStringLower(_hash.GetHashAndReset());
        return _sha256;
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await _file.DisposeAsync().ConfigureAwait(false);
        _hash.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }
}
