using System.Text;
using System.Text.Json;
using Pipeline.Storage;

namespace Pipeline.Jobs;

/// <summary>One line of the journal: an attempt handed out, or the first valid commit of a partition.</summary>
public sealed record JournalEntry(string Kind, string PartitionId, int Attempt, string Worker, PartitionOutcome? Commit = null)
{
    public const string Assign = "assign";
    public const string Committed = "commit";
}

/// <summary>
/// The coordinator's durable record on the output volume: an append-only JSON-lines file, flushed to disk before a
/// commit is acknowledged, so a restarted coordinator resumes with every committed partition and never reuses an
/// attempt number. A torn last line (a crash mid-append) is ignored on load.
/// Format 1 (docs/architecture.md, "Contracts"): one object a line, <c>{"v":1,"kind":"assign"|"commit","partition_id",
/// "attempt","worker"[,"commit":<see cref="CommitRecord"/>]}</c>. Lines written before the version field existed have
/// no "v" and are format 1 too; a line of a later format is refused, never dropped as torn.
/// </summary>
public sealed class CommitJournal : IDisposable
{
    /// <summary>The journal format this version writes and the newest it reads.</summary>
    public const int Format = 1;

    /// <summary>One line as stored: the entry under the format's own names, so renaming <see cref="JournalEntry"/> changes no journal.</summary>
    private sealed record Line(string Kind, string PartitionId, int Attempt, string Worker, PartitionOutcome? Commit = null, int V = Format)
    {
        [System.Text.Json.Serialization.JsonPropertyOrder(-1)] public int V { get; init; } = V;
    }

    private readonly FileStream _stream;

    public string Path { get; }

    private CommitJournal(string path, FileStream stream)
    {
        Path = path;
        _stream = stream;
    }

    /// <summary>Reads the recorded entries without opening the journal for writing (status tools, tests).</summary>
    public static List<JournalEntry> Read(string path)
    {
        if (!File.Exists(path)) return [];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        return Parse(path, bytes, out _);
    }

    public static (CommitJournal Journal, List<JournalEntry> Entries) Open(string path)
    {
        long validLength = 0;
        var entries = File.Exists(path) ? Parse(path, File.ReadAllBytes(path), out validLength) : [];
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        stream.SetLength(validLength);
        stream.Seek(validLength, SeekOrigin.Begin);
        return (new CommitJournal(path, stream), entries);
    }

    private static List<JournalEntry> Parse(string path, byte[] bytes, out long validLength)
    {
        var entries = new List<JournalEntry>();
        validLength = 0;
        var start = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != (byte)'\n') continue;
            Line? line = null;
            try { line = JsonSerializer.Deserialize<Line>(bytes.AsSpan(start, i - start), FormatJson.Options); }
            catch (JsonException) { }
            if (line is { V: > Format })
                throw new InvalidDataException(
                    $"{path}: line {entries.Count + 1} is journal format {line.V}, written by a newer Pipeline; this version reads format {Format} and below");
            if (line is not { Kind: not null, PartitionId: not null }) break; // torn or foreign line: everything after it is untrusted
            entries.Add(new JournalEntry(line.Kind, line.PartitionId, line.Attempt, line.Worker, line.Commit));
            start = i + 1;
            validLength = start;
        }
        return entries;
    }

    public void Append(JournalEntry entry)
    {
        _stream.Write(LineOf(entry));
        _stream.Flush(flushToDisk: true);
    }

    /// <summary>Replaces the journal (closed by every writer) with these entries, atomically and durably.</summary>
    public static void Rewrite(string path, IEnumerable<JournalEntry> entries)
    {
        using var buffer = new MemoryStream();
        foreach (var entry in entries) buffer.Write(LineOf(entry));
        DurableFiles.WriteAllBytes(path, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    private static byte[] LineOf(JournalEntry entry) => Encoding.UTF8.GetBytes(
        JsonSerializer.Serialize(new Line(entry.Kind, entry.PartitionId, entry.Attempt, entry.Worker, entry.Commit), FormatJson.Options) + "\n");

    public void Dispose() => _stream.Dispose();
}
