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
public static class CorpusFiles
{
    /// <summary>Larger files are refused before reading (the real corpus has none over a few MB).</summary>
    public const long MaxFileBytes = 64L << 20;

    public static string Resolve(string corpusRoot, string fileName)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(corpusRoot));
        if (string.IsNullOrWhiteSpace(fileName) || Path.IsPathRooted(fileName) || fileName.Contains('\0'))
            throw new CorpusFileException("OutsideRoot", $"file name '{fileName}' is not a relative path inside the corpus");
        foreach (var segment in fileName.Split('/', '\\'))
            if (segment == "..")
                throw new CorpusFileException("OutsideRoot", $"file name '{fileName}' leaves the corpus root");
        var full = Path.GetFullPath(Path.Combine(root, fileName));
        if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new CorpusFileException("OutsideRoot", $"file name '{fileName}' leaves the corpus root");
        // every component below the root may be a link; each must resolve inside the root
        var current = root;
        foreach (var segment in Path.GetRelativePath(root, full).Split(Path.DirectorySeparatorChar))
        {
            current = Path.Combine(current, segment);
            FileSystemInfo info = Directory.Exists(current) ? new DirectoryInfo(current) : new FileInfo(current);
            if (info.LinkTarget is null) continue;
            var target = info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
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
}
