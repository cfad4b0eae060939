using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Pipeline.Storage;

/// <summary>
/// Crash-safe file steps: a file is written under a temporary name, fsynced, then renamed into place, and the
/// directory is fsynced so the rename itself survives a power loss. The one place Pipeline writes a file that must
/// survive a crash whole: readers see the old content or the new, never a torn file.
/// </summary>
public static partial class DurableFiles
{
    /// <summary>A temporary name next to <paramref name="finalPath"/>: same directory, so the rename is atomic.</summary>
    public static string TemporaryPathFor(string finalPath)
    {
        string directory = Path.GetDirectoryName(finalPath) ?? ".";
        return Path.Combine(directory, "." + Path.GetFileName(finalPath) + ".tmp-" + Guid.NewGuid().ToString("N"));
    }

    /// <summary>
    /// Renames a fully written, fsynced temporary file (from <see cref="TemporaryPathFor"/>) into place and fsyncs the
    /// folder. Without <paramref name="replace"/> an existing file is refused: a committed file is never overwritten.
    /// </summary>
    public static void MoveIntoPlace(string temporaryPath, string finalPath, bool replace = false, bool fsyncDirectory = true)
    {
        if (!replace && File.Exists(finalPath))
            throw new IOException($"'{finalPath}' already exists; a committed file is never overwritten");
        File.Move(temporaryPath, finalPath, overwrite: replace);
        if (fsyncDirectory)
            FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(finalPath))!);
    }

    /// <summary>What writes a file's content into the temporary file; <typeparamref name="TState"/> may be a span.</summary>
    public delegate void ContentWriter<in TState>(Stream file, TState state) where TState : allows ref struct;

    /// <summary>
    /// Writes a file through a temporary name: <paramref name="write"/> fills it, it is fsynced, renamed into place
    /// (replacing any old one) and the folder is fsynced. A failure leaves the old file (or none) and no temporary.
    /// </summary>
    /// <param name="fsyncDirectory">false when the caller fsyncs the folder once after writing many files into it.</param>
    /// <param name="fsyncFile">false only for bulk output that is regenerated rather than recovered (a synthetic corpus):
    /// the rename still keeps readers from a torn file, but a power loss may leave it empty.</param>
    public static void Write<TState>(string finalPath, TState state, ContentWriter<TState> write, bool fsyncDirectory = true,
        bool fsyncFile = true) where TState : allows ref struct
    {
        string temporaryPath = TemporaryPathFor(finalPath);
        try
        {
            using (var file = new FileStream(temporaryPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(file, state);
                file.Flush(flushToDisk: fsyncFile);
            }
            MoveIntoPlace(temporaryPath, finalPath, replace: true, fsyncDirectory);
        }
        catch
        {
            TryDelete(temporaryPath);
            throw;
        }
    }

    /// <summary><see cref="Write{TState}"/> with a writer that needs no state.</summary>
    public static void Write(string finalPath, Action<Stream> write, bool fsyncDirectory = true) =>
        Write(finalPath, write, static (file, writer) => writer(file), fsyncDirectory);

    /// <summary>Writes a small file through a temporary name, fsync and rename (replacing any old one).</summary>
    /// <param name="fsyncDirectory">false when the caller fsyncs the folder once after writing many files into it.</param>
    public static void WriteAllBytes(string finalPath, ReadOnlySpan<byte> bytes, bool fsyncDirectory = true) =>
        Write(finalPath, bytes, static (file, content) => file.Write(content), fsyncDirectory);

    /// <summary><see cref="WriteAllBytes"/> of UTF-8 text.</summary>
    public static void WriteAllText(string finalPath, string text, bool fsyncDirectory = true) =>
        WriteAllBytes(finalPath, System.Text.Encoding.UTF8.GetBytes(text), fsyncDirectory);

    /// <summary>The asynchronous <see cref="Write{TState}"/>.</summary>
    public static async Task WriteAsync(string finalPath, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        string temporaryPath = TemporaryPathFor(finalPath);
        try
        {
            await using (var file = new FileStream(temporaryPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                await write(file, cancellationToken).ConfigureAwait(false);
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }
            MoveIntoPlace(temporaryPath, finalPath, replace: true);
        }
        catch
        {
            TryDelete(temporaryPath);
            throw;
        }
    }

    /// <summary>Writes a small file through a temporary name, fsync and rename (replacing any old one).</summary>
    public static Task WriteAllBytesAsync(string finalPath, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
        WriteAsync(finalPath, (file, cancellation) => file.WriteAsync(bytes, cancellation).AsTask(), cancellationToken);

    /// <summary><see cref="WriteAllBytesAsync"/> of UTF-8 text (no byte order mark).</summary>
    public static Task WriteAllTextAsync(string finalPath, string text, CancellationToken cancellationToken) =>
        WriteAllBytesAsync(finalPath, System.Text.Encoding.UTF8.GetBytes(text), cancellationToken);

    public static async Task<string> Sha256HexAsync(string path, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 20,
            FileOptions.SequentialScan | FileOptions.Asynchronous);
        byte[] hash = await SHA256.HashDataAsync(file, cancellationToken).ConfigureAwait(false);
        return Convert.ToHexStringLower(hash);
    }

    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // best effort: a leftover temporary file is ignored by every reader
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>fsync of a directory makes renames and new entries in it durable; .NET has no API for it.</summary>
    public static void FsyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
            return; // NTFS journals metadata; there is no directory handle to flush
        int fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0)
            throw new IOException($"cannot open directory '{directory}' to fsync it (errno {Marshal.GetLastPInvokeError()})");
        try
        {
            if (Fsync(fd) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno != 22 /* EINVAL: file system without directory fsync */)
                    throw new IOException($"fsync of directory '{directory}' failed (errno {errno})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
