namespace Pipeline.Corpus;

/// <summary>
/// A corpus JSON file that cannot be read as the release's format: bad JSON, a truncated file, a required field
/// missing or of the wrong type. The message names the file, the position and the problem.
/// </summary>
public sealed class CorpusFormatException : FormatException
{
    public CorpusFormatException(string filePath, long byteOffset, long line, long column, string problem, Exception? inner = null)
        : base(Describe(filePath, byteOffset, line, column, problem), inner)
    {
        FilePath = filePath;
        ByteOffset = byteOffset;
        Line = line;
        Column = column;
        Problem = problem;
    }

    /// <summary>The file that failed, as given to the reader.</summary>
    public string FilePath { get; }

    /// <summary>Zero-based byte offset in the file of the token at fault (-1 when unknown).</summary>
    public long ByteOffset { get; }

    /// <summary>One-based line of that token (-1 when unknown).</summary>
    public long Line { get; }

    /// <summary>One-based byte column in that line (-1 when unknown).</summary>
    public long Column { get; }

    /// <summary>The problem alone, without the file and position.</summary>
    public string Problem { get; }

    private static string Describe(string filePath, long byteOffset, long line, long column, string problem)
    {
        if (byteOffset < 0)
            return $"{filePath}: {problem}";
        if (line < 0)
            return $"{filePath}: byte offset {byteOffset}: {problem}";
        return $"{filePath}: line {line}, column {column} (byte offset {byteOffset}): {problem}";
    }
}
