using System.Text.Json;
using System.Text.Json.Serialization;
using Pipeline.Processing;
using Pipeline.Storage;

namespace Pipeline.Jobs;

/// <summary>
/// Format 1 of a recorded commit, as the journal stores it and the <c>PartitionCommitted</c> message carries it. Kept
/// apart from <see cref="PartitionOutcome"/> (and the <see cref="PartCommit"/>, <see cref="BoxHistogramData"/> and
/// <see cref="ClassTally"/> inside it), so that renaming or extending those domain records changes neither the journals
/// users have on disk nor the wire: only this record and its mapping define the JSON (docs/architecture.md, "Contracts").
/// </summary>
public sealed record CommitRecord(
    CommitRecord.PartRecord Part, string Worker, CommitRecord.HistogramRecord Histogram, CommitRecord.ClassRecord[] Classes,
    Dictionary<string, int> QuarantineByKind, int SizeMismatches, double Seconds)
{
    public sealed record PartRecord(string PartitionId, int Attempt, string RowsPath, string ErrorsPath, long Rows,
        long ErrorRows, long RowsBytes, long ErrorsBytes, string RowsSha256, string ErrorsSha256);

    public sealed record HistogramRecord(long[] Counts, long Count, long SumNanos, double Min, double Max);

    public sealed record ClassRecord(int CategoryId, string Species, int Images, int Boxes);

    public static CommitRecord From(PartitionOutcome outcome)
    {
        var (p, h) = (outcome.Part, outcome.Histogram);
        return new CommitRecord(
            new PartRecord(p.PartitionId, p.Attempt, p.RowsPath, p.ErrorsPath, p.Rows, p.ErrorRows, p.RowsBytes, p.ErrorsBytes, p.RowsSha256, p.ErrorsSha256),
            outcome.Worker,
            new HistogramRecord(h.Counts, h.Count, h.SumNanos, h.Min, h.Max),
            Array.ConvertAll(outcome.Classes, c => new ClassRecord(c.CategoryId, c.Species, c.Images, c.Boxes)),
            outcome.QuarantineByKind, outcome.SizeMismatches, outcome.Seconds);
    }

    /// <summary>The domain outcome; a record missing its part, histogram or classes (a foreign or damaged payload) is refused.</summary>
    public PartitionOutcome ToOutcome()
    {
        if (Part is not { PartitionId: not null } p || Histogram?.Counts is null || Classes is null || Worker is null)
            throw new JsonException("a commit record needs its part (with a partition id), worker, histogram and classes");
        var h = Histogram;
        return new PartitionOutcome(
            new PartCommit(p.PartitionId, p.Attempt, p.RowsPath, p.ErrorsPath, p.Rows, p.ErrorRows, p.RowsBytes, p.ErrorsBytes, p.RowsSha256, p.ErrorsSha256),
            Worker,
            new BoxHistogramData(h.Counts, h.Count, h.SumNanos, h.Min, h.Max),
            Array.ConvertAll(Classes, c => new ClassTally(c.CategoryId, c.Species, c.Images, c.Boxes)),
            QuarantineByKind ?? [], SizeMismatches, Seconds);
    }
}

/// <summary>Writes and reads every <see cref="PartitionOutcome"/> as its <see cref="CommitRecord"/>: the edge between the domain and the formats.</summary>
public sealed class CommitRecordConverter : JsonConverter<PartitionOutcome>
{
    public override PartitionOutcome Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        (JsonSerializer.Deserialize<CommitRecord>(ref reader, options) ?? throw new JsonException("a commit record is null")).ToOutcome();

    public override void Write(Utf8JsonWriter writer, PartitionOutcome value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, CommitRecord.From(value), options);
}

/// <summary>JSON options of the versioned formats (the journal, the cluster wire): compact snake_case, commits as <see cref="CommitRecord"/>.</summary>
public static class FormatJson
{
    public static readonly JsonSerializerOptions Options = new(JobJson.Compact) { Converters = { new CommitRecordConverter() } };
}
