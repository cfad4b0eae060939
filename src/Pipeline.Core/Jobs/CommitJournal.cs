using System.Text;
using System.Text.Json;
using Pipeline.Processing;

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

    public static (CommitJournal Journal, List<JournalEntry> Entries) Open(string path)
    {
        var entries = new List<JournalEntry>();
        long validLength = 0;
        if (File.Exists(path))
        {
            var bytes = File.ReadAllBytes(path);
            var start = 0;
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] != (byte)'\n') continue;
                var line = bytes.AsSpan(start, i - start);
                JournalEntry? entry = null;
                try { entry = JsonSerializer.Deserialize<JournalEntry>(line, JobJson.Compact); }
                catch (JsonException) { }
                if (entry is null) break; // torn or foreign line: everything after it is untrusted
                entries.Add(entry);
                start = i + 1;
                validLength = start;
            }
        }
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read);
        stream.SetLength(validLength);
        stream.Seek(validLength, SeekOrigin.Begin);
        return (new CommitJournal(path, stream), entries);
    }

    public void Append(JournalEntry entry)
    {
        var json = JsonSerializer.Serialize(entry, JobJson.Compact);
        var bytes = Encoding.UTF8.GetBytes(json + "\n");
        _stream.Write(bytes);
        _stream.Flush(flushToDisk: true);
    }

    public void Dispose() => _stream.Dispose();
}
