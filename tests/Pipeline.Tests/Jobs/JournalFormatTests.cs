using System.Text;
using Pipeline.Jobs;
using Pipeline.Processing;
using Pipeline.Tests.Kubernetes;
using Pipeline.Tests.Storage;

namespace Pipeline.Tests.Jobs;

/// <summary>
/// The journal on disk is a contract with every output folder users already have. Fixtures/journal-legacy.jsonl was
/// written by `pipeline run` before the journal had a format version (13 partitions of a 18-image val split, one image
/// truncated); Fixtures/journal-v1.jsonl by this version, from the same corpus. Both must stay readable by every later
/// version, and this version must write format 1 byte for byte.
/// </summary>
public sealed class JournalFormatTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string Fixture(string name) => RepositoryTree.PathOf("tests", "Pipeline.Tests", "Fixtures", name);

    [Theory]
    [InlineData("journal-legacy.jsonl")]
    [InlineData("journal-v1.jsonl")]
    public void A_journal_written_by_an_earlier_version_reads_with_every_commit(string fixture)
    {
        var entries = CommitJournal.Read(Fixture(fixture));

        Assert.Equal(26, entries.Count);
        var commits = entries.Where(e => e.Kind == JournalEntry.Committed).ToList();
        Assert.Equal(13, commits.Count);
        Assert.Equal(13, entries.Count(e => e is { Kind: JournalEntry.Assign, Attempt: 1, Worker: "worker-1" }));
        Assert.All(commits, c => Assert.Equal(c.PartitionId, c.Commit!.PartitionId));
        Assert.Equal(17, commits.Sum(c => c.Commit!.Rows));
        Assert.Equal(1, commits.Sum(c => c.Commit!.Quarantined));

        var truncated = Assert.Single(commits, c => c.Commit!.QuarantineByKind.Count > 0).Commit!;
        Assert.Equal("val-Chromista-00000", truncated.PartitionId);
        Assert.Equal(1, truncated.QuarantineByKind["Truncated"]);
        Assert.Equal("parts/val-Chromista-00000/attempt-1.errors.parquet", truncated.Part.ErrorsPath);
        Assert.Equal("ce905298c6589632626ef55421c054d36caf4d00005eb46a6b024f4072be2256", truncated.Part.ErrorsSha256);
        Assert.Equal(2576, truncated.Part.ErrorsBytes);

        var animalia = Assert.Single(commits, c => c.PartitionId == "val-Animalia-00000").Commit!;
        Assert.Equal(1, animalia.Histogram.Count);
        Assert.Equal(1, animalia.Histogram.Counts[12]); // sqrt(w·h)/sqrt(W·H) = 0.2434 falls in [0.24, 0.26)
        Assert.Equal(243_402_526, animalia.Histogram.SumNanos);
        Assert.Equal(new ClassTally(3635, "Echinometra mathaei", 1, 1), Assert.Single(animalia.Classes));
    }

    [Fact]
    public void This_version_writes_format_1_byte_for_byte()
    {
        var path = Path.Combine(_temp.Path, "journal.jsonl");
        CommitJournal.Rewrite(path, CommitJournal.Read(Fixture("journal-v1.jsonl")));
        Assert.Equal(File.ReadAllText(Fixture("journal-v1.jsonl")), File.ReadAllText(path));
    }

    [Fact]
    public void A_journal_from_before_the_version_field_gains_only_the_version_when_rewritten()
    {
        var path = Path.Combine(_temp.Path, "journal.jsonl");
        CommitJournal.Rewrite(path, CommitJournal.Read(Fixture("journal-legacy.jsonl")));
        var expected = File.ReadAllLines(Fixture("journal-legacy.jsonl")).Select(line => "{\"v\":1," + line[1..]);
        Assert.Equal(expected, File.ReadAllLines(path));
    }

    [Fact]
    public void A_journal_resumed_by_this_version_reads_old_and_new_lines_together()
    {
        // an output folder of an older version, resumed by this one: its lines first, then format 1 lines appended
        var path = Path.Combine(_temp.Path, "journal.jsonl");
        var legacy = File.ReadAllLines(Fixture("journal-legacy.jsonl"));
        File.WriteAllLines(path, legacy.Take(10));
        var (journal, entries) = CommitJournal.Open(path);
        using (journal)
        {
            Assert.Equal(10, entries.Count);
            foreach (var entry in CommitJournal.Read(Fixture("journal-v1.jsonl")).Skip(10)) journal.Append(entry);
        }
        var lines = File.ReadAllLines(path);
        Assert.Equal(legacy.Take(10), lines.Take(10));
        Assert.All(lines.Skip(10), line => Assert.StartsWith("{\"v\":1,", line));
        Assert.Equal(26, CommitJournal.Read(path).Count);
    }

    [Fact]
    public void A_line_of_a_newer_format_is_refused_and_never_cut_off_as_torn()
    {
        var path = Path.Combine(_temp.Path, "journal.jsonl");
        var newer = """{"v":2,"kind":"assign","partition_id":"val-Aves-00000","attempt":2,"worker":"worker-2"}""";
        File.WriteAllText(path, string.Join('\n', File.ReadAllLines(Fixture("journal-v1.jsonl")).Take(3).Append(newer)) + "\n");
        var before = File.ReadAllBytes(path);

        var read = Assert.Throws<InvalidDataException>(() => CommitJournal.Read(path));
        Assert.Contains(path, read.Message);
        Assert.Contains("line 4 is journal format 2", read.Message);
        Assert.Throws<InvalidDataException>(() => CommitJournal.Open(path));
        Assert.Equal(before, File.ReadAllBytes(path)); // opening for a resume did not truncate the newer lines
    }

    [Fact]
    public void A_torn_last_line_is_still_ignored_and_cut_off_on_open()
    {
        var path = Path.Combine(_temp.Path, "journal.jsonl");
        var lines = File.ReadAllLines(Fixture("journal-v1.jsonl"));
        var torn = lines[3][..(lines[3].Length / 2)];
        File.WriteAllText(path, string.Join('\n', lines.Take(3).Append(torn)) + "\n");
        var (journal, entries) = CommitJournal.Open(path);
        journal.Dispose();
        Assert.Equal(3, entries.Count);
        Assert.Equal(string.Join('\n', lines.Take(3)) + "\n", File.ReadAllText(path, Encoding.UTF8));
    }
}
