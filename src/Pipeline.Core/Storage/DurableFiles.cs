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

    /// <summary>Renames a fully written, fsynced temporary file into place; refuses to replace an existing file.</summary>
    public static void MoveIntoPlace(string temporaryPath, string finalPath)
    {
        if (File.Exists(finalPath))
            throw new IOException($"'{finalPath}' already exists; a committed file is never overwritten");
        File.Move(temporaryPath, finalPath, overwrite: false);
        FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(finalPath))!);
    }

    /// <summary>Writes a small file through a temporary name, fsync and rename (replacing any old one).</summary>
    /// <param name="fsyncDirectory">false when the caller fsyncs the folder once after writing many files into it.</param>
    public static void WriteAllBytes(string finalPath, ReadOnlySpan<byte> bytes, bool fsyncDirectory = true)
    {
        string temporaryPath = TemporaryPathFor(finalPath);
        try
        {
            using (var file = new FileStream(temporaryPath, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                file.Write(bytes);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporaryPath, finalPath, overwrite: true);
        }
        catch
        {
            TryDelete(temporaryPath);
            throw;
        }
        if (fsyncDirectory)
            FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(finalPath))!);
    }

    /// <summary><see cref="WriteAllBytes"/> of UTF-8 text.</summary>
    public static void WriteAllText(string finalPath, string text, bool fsyncDirectory = true) =>
        WriteAllBytes(finalPath, System.Text.Encoding.UTF8.GetBytes(text), fsyncDirectory);

    /// <summary>Writes a small file through a temporary name, fsync and rename (replacing any old one).</summary>
    public static async Task WriteAllBytesAsync(string finalPath, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        string temporaryPath = TemporaryPathFor(finalPath);
        await using (var file = new FileStream(temporaryPath, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            await file.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporaryPath, finalPath, overwrite: true);
        FsyncDirectory(Path.GetDirectoryName(Path.GetFullPath(finalPath))!);
    }

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
