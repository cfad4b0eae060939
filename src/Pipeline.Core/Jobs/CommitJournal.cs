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
/// </summary>
public sealed class CommitJournal : IDisposable
{
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
        return Parse(bytes, out _);
    }

    public static (CommitJournal Journal, List<JournalEntry> Entries) Open(string path)
    {
        long validLength = 0;
        var entries = File.Exists(path) ? Parse(File.ReadAllBytes(path), out validLength) : [];
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        stream.SetLength(validLength);
        stream.Seek(validLength, SeekOrigin.Begin);
        return (new CommitJournal(path, stream), entries);
    }

    private static List<JournalEntry> Parse(byte[] bytes, out long validLength)
    {
        var entries = new List<JournalEntry>();
        validLength = 0;
        var start = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] != (byte)'\n') continue;
            JournalEntry? entry = null;
            try { entry = JsonSerializer.Deserialize<JournalEntry>(bytes.AsSpan(start, i - start), JobJson.Compact); }
            catch (JsonException) { }
            if (entry is null) break; // torn or foreign line: everything after it is untrusted
            entries.Add(entry);
            start = i + 1;
            validLength = start;
        }
        return entries;
    }

    public void Append(JournalEntry entry)
    {
        _stream.Write(Line(entry));
        _stream.Flush(flushToDisk: true);
    }

    /// <summary>Replaces the journal (closed by every writer) with these entries, atomically and durably.</summary>
    public static void Rewrite(string path, IEnumerable<JournalEntry> entries)
    {
        using var buffer = new MemoryStream();
        foreach (var entry in entries) buffer.Write(Line(entry));
        DurableFiles.WriteAllBytes(path, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    private static byte[] Line(JournalEntry entry) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(entry, JobJson.Compact) + "\n");

    public void Dispose() => _stream.Dispose();
}
