namespace Pipeline.Corpus;

/// <summary>
/// Keeps image paths inside the corpus root. A release <c>file_name</c> is relative with '/' separators; anything
/// empty, rooted, drive-qualified or with a ".." segment (with either separator, since a backslash is one on
/// Windows) is refused before any file is opened.
/// </summary>
public static class CorpusPaths
{
    /// <summary>Why <paramref name="fileName"/> may not be used under the corpus root, or null when it is safe.</summary>
    public static string? FileNameProblem(string? fileName) =>
        fileName is null ? "file_name is empty" : FileNameProblem(fileName.AsSpan());

    /// <inheritdoc cref="FileNameProblem(string?)"/>
    public static string? FileNameProblem(ReadOnlySpan<char> fileName)
    {
        if (fileName.IsWhiteSpace())
            return "file_name is empty";
        if (fileName.Contains('\0'))
            return "file_name contains a NUL character";
        if (fileName[0] is '/' or '\\' || Path.IsPathRooted(fileName))
            return "file_name is an absolute path";
        if (fileName.Length >= 2 && fileName[1] == ':' && char.IsAsciiLetter(fileName[0]))
            return "file_name is a drive-qualified path";
        if (fileName[^1] is '/' or '\\')
            return "file_name names a directory";
        int segmentStart = 0;
        for (int i = 0; i <= fileName.Length; i++)
        {
            if (i < fileName.Length && fileName[i] is not ('/' or '\\'))
                continue;
            if (i - segmentStart == 2 && fileName[segmentStart] == '.' && fileName[segmentStart + 1] == '.')
                return "file_name has a '..' segment that leaves the corpus root";
            segmentStart = i + 1;
        }
        return null;
    }

    /// <summary>
    /// The absolute path of <paramref name="fileName"/> under <paramref name="corpusRoot"/> (an absolute, normalized
    /// directory). Throws <see cref="ArgumentException"/> for a name that would leave the root.
    /// </summary>
    public static string Resolve(string corpusRoot, string fileName)
    {
        string? problem = FileNameProblem(fileName);
        if (problem is not null)
            throw new ArgumentException($"{problem}: \"{fileName}\"", nameof(fileName));
        string full = Path.GetFullPath(Path.Combine(corpusRoot, fileName));
        string rootWithSeparator = Path.EndsInDirectorySeparator(corpusRoot)
            ? corpusRoot
            : corpusRoot + Path.DirectorySeparatorChar;
        if (!full.StartsWith(rootWithSeparator, StringComparison.Ordinal))
            throw new ArgumentException($"file_name resolves outside the corpus root: \"{fileName}\"", nameof(fileName));
        return full;
    }
}
