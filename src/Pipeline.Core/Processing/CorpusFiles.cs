using System.Runtime.InteropServices;

namespace Pipeline.Processing;

/// <summary>Why a file could not be read; the kind becomes the `error` column of errors.parquet.</summary>
public sealed class CorpusFileException(string kind, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Kind { get; } = kind;
}

/// <summary>
/// Reads an image file of the corpus, refusing any path that leaves the corpus root: absolute names, `..` segments,
/// and symbolic links (of the file or of any folder on the way) whose target is outside the root.
/// </summary>
public static partial class CorpusFiles
{
    /// <summary>Larger files are refused before reading (the real corpus has none over a few MB).</summary>
    public const long MaxFileBytes = 64L << 20;

    public static string Resolve(string corpusRoot, string fileName)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(corpusRoot));
        // the corpus reader's own rule (a plan written by hand or by an older version is checked again here)
        if (Corpus.CorpusPaths.FileNameProblem(fileName) is { } problem)
            throw new CorpusFileException("OutsideRoot", $"{problem}: '{fileName}'");
        var full = Path.GetFullPath(Path.Combine(root, fileName));
        if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new CorpusFileException("OutsideRoot", $"file name '{fileName}' leaves the corpus root");
        // every component below the root may be a link; each must resolve inside the root
        var current = root;
        foreach (var segment in Path.GetRelativePath(root, full).Split(Path.DirectorySeparatorChar))
        {
            current = Path.Combine(current, segment);
            // one readlink per segment (EINVAL for anything not a link): whether it is a file or a folder does not
            // matter for the link, and a stat to find out would double the path's system calls for every image
            FileSystemInfo info = new FileInfo(current);
            if (info.LinkTarget is null) continue;
            string? target;
            try
            {
                target = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
            }
            catch (IOException e)
            {
                // a link loop (ELOOP) is one bad file, never the partition's failure
                throw new CorpusFileException("Unreadable", $"'{fileName}' is a symbolic link that cannot be resolved: {e.Message}", e);
            }
            if (target is null || !Path.GetFullPath(target).StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                throw new CorpusFileException("OutsideRoot", $"'{fileName}' is a symbolic link to {target ?? "nowhere"}, outside the corpus root");
        }
        return full;
    }

    /// <summary>Reads the whole file into a buffer rented from <paramref name="pool"/>; returns its length.</summary>
    public static int Read(string path, System.Buffers.ArrayPool<byte> pool, out byte[] buffer)
    {
        try
        {
            RefuseSpecialFile(path);
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            var length = RandomAccess.GetLength(handle);
            if (length > MaxFileBytes)
                throw new CorpusFileException("TooLarge", $"file has {length:N0} bytes, over the {MaxFileBytes:N0} byte limit");
            buffer = pool.Rent((int)Math.Max(1, length));
            var read = 0;
            while (read < length)
            {
                var n = RandomAccess.Read(handle, buffer.AsSpan(read, (int)length - read), read);
                if (n == 0) break;
                read += n;
            }
            return read;
        }
        catch (FileNotFoundException e) { throw new CorpusFileException("Missing", $"file does not exist: {e.FileName ?? path}", e); }
        catch (DirectoryNotFoundException e) { throw new CorpusFileException("Missing", $"folder does not exist for {path}", e); }
        catch (UnauthorizedAccessException e) { throw new CorpusFileException("Unreadable", e.Message, e); }
        catch (IOException e) { throw new CorpusFileException("Unreadable", e.Message, e); }
    }

    /// <summary>
    /// Refuses a named pipe, device, socket or folder before opening it: opening a FIFO blocks until a writer comes,
    /// which would hold the partition (and its lease, renewed by heartbeats) forever. statx's layout is the same on
    /// every Linux architecture, unlike stat's.
    /// </summary>
    private static void RefuseSpecialFile(string path)
    {
        if (!OperatingSystem.IsLinux()) return;
        Span<byte> status = stackalloc byte[256]; // struct statx
        if (Statx(-100 /* AT_FDCWD */, path, 0, 0x1 /* STATX_TYPE */, ref MemoryMarshal.GetReference(status)) != 0)
            return; // missing or unreadable: the open that follows says which
        var type = MemoryMarshal.Read<ushort>(status[28..]) & 0xF000; // stx_mode & S_IFMT
        var kind = type switch
        {
            0x8000 => null,
            0x1000 => "a named pipe (FIFO)",
            0x2000 => "a character device",
            0x4000 => "a folder",
            0x6000 => "a block device",
            0xC000 => "a socket",
            _ => $"a special file (type 0x{type:X4})",
        };
        if (kind is not null) throw new CorpusFileException("Unreadable", $"{path} is {kind}, not a regular file");
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directory, string path, int flags, uint mask, ref byte statx);
}
