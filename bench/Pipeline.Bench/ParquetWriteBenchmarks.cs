using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Parquet;
using Pipeline.Schema;
using Pipeline.Storage;

namespace Pipeline.Bench;

/// <summary>
/// Parquet write throughput for rows shaped like the real output: a ~20 KB JPEG (random bytes: JPEG does not
/// compress either), a 512-float ResNet-18 embedding, 0-3 boxes. MB/s is row payload (image + embedding + boxes +
/// names) over mean time. Run: dotnet run -c Release --project bench/Pipeline.Bench -- --filter '*Parquet*'
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 8)]
[Config(typeof(ThroughputConfig))]
public class ParquetWriteBenchmarks
{
    /// <summary>Two partitions' worth (~45 MB of payload): long enough per iteration to time one invocation.</summary>
    public const int RowsPerOperation = 2048;
    private const int MergedParts = 4;
    private ImageRow[] _rows = [];
    private string _folder = "";
    private string _partPath = "";
    private string _readPath = "";
    private string _mergeOut = "";
    private List<PartCommit> _mergeCommits = [];
    private int _attempt;
    private int _job;

    [Params(CompressionMethod.Snappy, CompressionMethod.None)]
    public CompressionMethod Compression { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _rows = MakeRows(RowsPerOperation);
        _folder = Path.Combine(Path.GetTempPath(), "pipeline-bench-parquet-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        _partPath = Path.Combine(_folder, "part.parquet");
        _readPath = Path.Combine(_folder, "read.parquet");
        var options = new ParquetLayoutOptions { Compression = Compression };
        WriteFile(_readPath, options).GetAwaiter().GetResult();

        _mergeOut = Path.Combine(_folder, "merge");
        int perPart = RowsPerOperation / MergedParts;
        for (int p = 0; p < MergedParts; p++)
            _mergeCommits.Add(PartFiles.WriteAttempt(_mergeOut, $"train-Aves-{p:D5}", 1, _rows[(p * perPart)..((p + 1) * perPart)], [], options));
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);

    [IterationCleanup]
    public void RemoveCommittedParts()
    {
        string parts = Path.Combine(_folder, PartFiles.PartsFolder);
        if (Directory.Exists(parts))
            Directory.Delete(parts, recursive: true);
    }

    /// <summary>The encoder alone: rows into a Parquet file, no fsync, no hashing.</summary>
    [Benchmark(Baseline = true)]
    public Task WriteImageFile() => WriteFile(_partPath, new ParquetLayoutOptions { Compression = Compression });

    /// <summary>What a worker pays per partition: write, sha256, fsync and atomic rename of the part and its sidecar.</summary>
    [Benchmark]
    public Task<PartCommit> CommitPartAttempt() =>
        PartFiles.WriteAttemptAsync(_folder, "train-Aves-00000", ++_attempt, _rows, [],
            new ParquetLayoutOptions { Compression = Compression });

    /// <summary>Reading back, one row group at a time, as the merge does.</summary>
    [Benchmark]
    public async Task<long> ReadImageFile()
    {
        long boxes = 0;
        await using ImagePartReader reader = await ImagePartReader.OpenAsync(_readPath);
        for (int g = 0; g < reader.RowGroupCount; g++)
            foreach (ImageRow row in await reader.ReadRowGroupAsync(g))
                boxes += row.Boxes.Length;
        return boxes;
    }

    /// <summary>The whole merge of four parts: sha256 check, read, re-encode into the hive layout, manifest, swap.</summary>
    [Benchmark]
    public Task<MergeResult> MergeFourParts() =>
        DatasetMerger.MergeAsync(new MergeRequest(_mergeOut, $"bench-{++_job}", "config", null, RowsPerOperation,
            _mergeCommits, [], []) { Layout = new ParquetLayoutOptions { Compression = Compression } });

    private async Task WriteFile(string path, ParquetLayoutOptions options)
    {
        await using ImagePartWriter writer = await ImagePartWriter.CreateAsync(File.Create(path), ImageFileLayout.Part, options);
        foreach (ImageRow row in _rows)
            await writer.WriteAsync(row);
        await writer.CompleteAsync();
    }

    internal static ImageRow[] MakeRows(int count)
    {
        var random = new Random(2017);
        var rows = new ImageRow[count];
        for (int i = 0; i < count; i++)
        {
            var image = new byte[18_000 + random.Next(4_000)];
            random.NextBytes(image);
            var embedding = new float[512];
            for (int e = 0; e < embedding.Length; e++)
                embedding[e] = (float)random.NextDouble() * 4f; // post-ReLU pooled features are non-negative
            var boxes = new BoxRow[i % 4];
            for (int b = 0; b < boxes.Length; b++)
                boxes[b] = new BoxRow(random.Next(200), random.Next(200), 10 + random.Next(100), 10 + random.Next(100), (float)random.NextDouble());
            rows[i] = new ImageRow(i, $"train_val_images/Aves/Turdus migratorius/{i:x32}.jpg", 12, "Turdus migratorius",
                "train", "Aves", 800, 600, 224, 168, image, boxes, embedding);
        }
        return rows;
    }

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig() => AddColumn(new ThroughputColumn());
    }

    /// <summary>Row payload megabytes (10^6) per second of mean time.</summary>
    private sealed class ThroughputColumn : IColumn
    {
        public string Id => nameof(ThroughputColumn);
        public string ColumnName => "MB/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "row payload (image + embedding + boxes + names) in 10^6 bytes per second";
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public bool IsAvailable(Summary summary) => true;

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
            GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            double? meanNanoseconds = summary[benchmarkCase]?.ResultStatistics?.Mean;
            if (meanNanoseconds is null or <= 0)
                return "NA";
            // the benchmark ran in a child process: recompute the (deterministic) payload here
            long payload = 0;
            foreach (ImageRow row in MakeRows(RowsPerOperation))
                payload += ImagePartWriter.EstimateBytes(row);
            return (payload / 1e6 / (meanNanoseconds.Value / 1e9)).ToString("F1", System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
