using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Pipeline.Corpus;
using Pipeline.Jobs;
using Pipeline.Processing;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using static Pipeline.Tests.Cluster.ClusterTestSupport;
using static Pipeline.Tests.Imaging.TestImages;

namespace Pipeline.Tests.Reliability;

/// <summary>
/// A corpus of hostile files run through the real planning, partition and merge code (no cluster): each file that is
/// not a usable image becomes exactly one quarantine row with its reason, each odd but valid one a correct row, the
/// job never crashes or hangs, and nothing outside the corpus root is read.
/// </summary>
[Trait("Category", "Faults")]
public sealed class HostileInputTests : IDisposable
{
    private static readonly TimeSpan JobBound = TimeSpan.FromSeconds(60);
    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-hostile-").FullName;
    private readonly List<string> _fifos = [];
    private readonly List<byte[]> _rawNames = [];

    public HostileInputTests()
    {
        Root = Path.Combine(_work, "corpus");
        Directory.CreateDirectory(Path.Combine(Root, "img"));
    }

    private string Root { get; }

    public void Dispose()
    {
        // a reader left blocked on a named pipe is released by opening its other end
        foreach (var fifo in _fifos) ReleaseFifo(fifo);
        // .NET cannot name a file whose name is not UTF-8, so it could not delete it either
        foreach (var raw in _rawNames) Unlink(raw);
        Directory.Delete(_work, recursive: true);
    }

    /// <summary>What one file should become: a row of this size, or a quarantine row of this kind.</summary>
    private sealed record Expected(string FileName, int Width = 0, int Height = 0, string? Error = null);

    private sealed class CorpusBuilder
    {
        public List<(long Id, string FileName, int Width, int Height)> Images { get; } = [];

        public long Add(string fileName, int width, int height)
        {
            var id = 1000 + Images.Count;
            Images.Add((id, fileName, width, height));
            return id;
        }

        public string Json()
        {
            using var stream = new MemoryStream();
            using (var json = new Utf8JsonWriter(stream))
            {
                json.WriteStartObject();
                json.WriteStartArray("images");
                foreach (var (id, name, width, height) in Images)
                {
                    json.WriteStartObject();
                    json.WriteNumber("id", id);
                    json.WriteNumber("width", width);
                    json.WriteNumber("height", height);
                    json.WriteString("file_name", name);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                json.WriteStartArray("annotations");
                foreach (var (id, _, _, _) in Images)
                {
                    json.WriteStartObject();
                    json.WriteNumber("id", id);
                    json.WriteNumber("image_id", id);
                    json.WriteNumber("category_id", 0);
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                json.WriteStartArray("categories");
                json.WriteStartObject();
                json.WriteNumber("id", 0);
                json.WriteString("name", "Turdus migratorius");
                json.WriteString("supercategory", "Aves");
                json.WriteEndObject();
                json.WriteEndArray();
                json.WriteEndObject();
            }
            return Encoding.UTF8.GetString(stream.ToArray());
        }
    }

    private static byte[] SmallJpeg(int width = 64, int height = 48)
    {
        using var image = Waves(width, height);
        return Jpeg(image, 90);
    }

    /// <summary>A JPEG carrying many maximal APP1 segments: an EXIF block of megabytes whose IFD claims 65,535 entries.</summary>
    private static byte[] ExifFlood(byte[] jpeg, int segments)
    {
        var payload = new byte[65533 - 2];
        "Exif\0\0"u8.CopyTo(payload);
        "II*\0"u8.CopyTo(payload.AsSpan(6)); // TIFF header, little-endian
        payload[10] = 8; // first IFD at offset 8
        payload[14] = 0xFF; payload[15] = 0xFF; // 65,535 entries, far more than the segment holds
        for (var i = 16; i < payload.Length; i++) payload[i] = (byte)(i * 31);
        var flooded = jpeg;
        for (var i = 0; i < segments; i++) flooded = WithSegmentAfterStart(flooded, 0xE1, payload);
        return flooded;
    }

    private static byte[] JpegWithRawOrientation(ushort orientation)
    {
        using var image = Waves(64, 48);
        image.Metadata.ExifProfile = new ExifProfile();
        image.Metadata.ExifProfile.SetValue(ExifTag.Orientation, orientation);
        return Jpeg(image, 90);
    }

    private void Write(string fileName, byte[] bytes) => File.WriteAllBytes(Path.Combine(Root, fileName), bytes);

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MakeFifo(string path, uint mode);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int OpenRaw(byte[] path, int flags, uint mode);

    [DllImport("libc", EntryPoint = "unlink")]
    private static extern int UnlinkRaw(byte[] path);

    private static void Unlink(byte[] path) => UnlinkRaw([.. path, 0]);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int CloseRaw(int fd);

    private static void ReleaseFifo(string path)
    {
        // O_WRONLY | O_NONBLOCK: succeeds only while a reader waits, and that reader then sees end of file
        var fd = OpenRaw(Encoding.UTF8.GetBytes(path + "\0"), 0x1 | 0x800, 0);
        if (fd >= 0) CloseRaw(fd);
    }

    /// <summary>Creates a file whose on-disk name is raw bytes (not valid UTF-8), as an old Latin-1 copy tool leaves it.</summary>
    private void WriteRawName(byte[] relativeName, byte[] content)
    {
        byte[] path = [.. Encoding.UTF8.GetBytes(Root + "/"), .. relativeName];
        _rawNames.Add(path);
        var fd = OpenRaw([.. path, 0], 0x1 | 0x40 | 0x80, Convert.ToUInt32("644", 8)); // O_WRONLY | O_CREAT | O_EXCL
        Assert.True(fd >= 0, $"could not create the raw-named file (errno {Marshal.GetLastPInvokeError()})");
        using (var stream = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(fd, ownsHandle: true), FileAccess.Write))
            stream.Write(content);
    }

    private static async Task<(PreparedJob Job, MergeSummary Merge)> RunJobAsync(JobSpec spec)
    {
        var services = JobServices.Create(2);
        using var bound = new CancellationTokenSource(JobBound);
        var run = Task.Run(async () =>
        {
            var job = services.Prepare(spec, bound.Token);
            var commits = new List<PartitionOutcome>();
            foreach (var partition in job.Plan.Partitions)
                commits.Add(await services.ExecuteAsync(new PartitionWork(job.JobId, spec, partition, 1, "hostile-test"), null, bound.Token));
            return (job, services.Merge(job, commits, bound.Token));
        });
        try
        {
            return await run.WaitAsync(JobBound + TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"the job on hostile files did not finish within {JobBound}: something blocks");
        }
    }

    [Fact]
    public async Task Hostile_files_each_become_one_quarantine_row_or_a_correct_row_and_the_job_finishes()
    {
        var corpus = new CorpusBuilder();
        var expected = new Dictionary<long, Expected>();
        void Expect(string name, int width, int height, string? error = null, int jsonWidth = 0, int jsonHeight = 0) =>
            expected[corpus.Add(name, jsonWidth > 0 ? jsonWidth : Math.Max(1, width), jsonHeight > 0 ? jsonHeight : Math.Max(1, height))] =
                new Expected(name, width, height, error);

        for (var i = 0; i < 4; i++)
        {
            Write($"img/ok-{i}.jpg", SmallJpeg());
            Expect($"img/ok-{i}.jpg", 64, 48);
        }
        using (var picture = Waves(80, 60)) Write("img/png-named.jpg", Png(picture));
        Expect("img/png-named.jpg", 80, 60);
        File.Copy(AssetPath("quadrants-cmyk.jpg"), Path.Combine(Root, "img/cmyk.jpg"));
        var cmyk = Image.Identify(Path.Combine(Root, "img/cmyk.jpg"));
        Expect("img/cmyk.jpg", cmyk.Width, cmyk.Height);
        using (var deep = new Image<Rgba64>(70, 50, new Rgba64(40000, 1000, 65535, 65535)))
            Write("img/deep-16bit.png", Png(deep, PngColorType.RgbWithAlpha, PngBitDepth.Bit16));
        Expect("img/deep-16bit.png", 70, 50);
        Write("img/orientation-99.jpg", JpegWithRawOrientation(99));
        Expect("img/orientation-99.jpg", 64, 48); // out of 1..8: upright, sides not swapped
        Write("img/exif-flood.jpg", ExifFlood(SmallJpeg(), segments: 40));
        Expect("img/exif-flood.jpg", 64, 48);
        Write("img/wide-40000.jpg", WithJpegHeaderSize(SmallJpeg(), 40000, 30));
        Expect("img/wide-40000.jpg", 0, 0, "TooLarge", 40000, 30);

        File.CreateSymbolicLink(Path.Combine(Root, "img/loop-a.jpg"), Path.Combine(Root, "img/loop-b.jpg"));
        File.CreateSymbolicLink(Path.Combine(Root, "img/loop-b.jpg"), Path.Combine(Root, "img/loop-a.jpg"));
        Expect("img/loop-a.jpg", 0, 0, "Unreadable", 64, 48);
        var fifo = Path.Combine(Root, "img/fifo.jpg");
        Assert.Equal(0, MakeFifo(fifo, Convert.ToUInt32("644", 8)));
        _fifos.Add(fifo);
        Expect("img/fifo.jpg", 0, 0, "Unreadable", 64, 48);
        Directory.CreateDirectory(Path.Combine(Root, "img/folder.jpg"));
        Expect("img/folder.jpg", 0, 0, "Unreadable", 64, 48);
        using (var sparse = File.Create(Path.Combine(Root, "img/sparse-65mb.jpg"))) sparse.SetLength(65L << 20);
        Expect("img/sparse-65mb.jpg", 0, 0, "TooLarge", 64, 48);

        // on disk "caf\xE9.jpg" (Latin-1 bytes, not UTF-8); the JSON can only say "café.jpg" or U+FFFD
        WriteRawName([.. "img/caf"u8, 0xE9, .. ".jpg"u8], SmallJpeg());
        Expect("img/café.jpg", 0, 0, "Missing", 64, 48);
        Expect("img/caf\uFFFD.jpg", 0, 0, "Missing", 64, 48);

        // names that leave the root never reach the image stage: the reader skips and counts them
        File.WriteAllBytes(Path.Combine(_work, "outside.jpg"), SmallJpeg());
        var escaping = new[] { "../outside.jpg", "img/../../outside.jpg", _work + "/outside.jpg" };
        foreach (var name in escaping) corpus.Add(name, 64, 48);

        File.WriteAllText(Path.Combine(Root, CorpusReader.TrainFileName), corpus.Json());
        var spec = new JobSpec { Corpus = Root, Output = Path.Combine(_work, "out"), Splits = ["train"], Model = "none", PartitionSize = 5 };

        var (job, merge) = await RunJobAsync(spec);

        Assert.Equal(escaping.Length, job.Corpus.Issues.GetValueOrDefault("unsafe_file_name"));
        Assert.Equal(expected.Count, job.Plan.Images);
        var rows = Storage.DuckDb.Query(
            $"SELECT image_id, width, height, resized_width, resized_height, file_name FROM read_parquet('{Sql(Path.Combine(merge.DatasetDir, "images", "**", "*.parquet"))}', hive_partitioning=true)");
        var errors = Storage.DuckDb.Query(
            $"SELECT image_id, error, stage, message, file_name FROM read_parquet('{Sql(Path.Combine(merge.DatasetDir, "errors.parquet"))}')");
        var report = string.Join("\n", errors.Select(e => $"  {e[4]}: {e[1]} ({e[2]}) {e[3]}"));
        Assert.Equal(expected.Count, rows.Count + errors.Count);
        foreach (var row in rows)
        {
            var want = expected[Convert.ToInt64(row[0])];
            Assert.True(want.Error is null, $"{want.FileName} got a row, expected quarantine {want.Error}\n{report}");
            Assert.Equal((want.Width, want.Height), (Convert.ToInt32(row[1]), Convert.ToInt32(row[2])));
            Assert.Equal(want.FileName, (string)row[5]!);
            Assert.True(Convert.ToInt32(row[3]) >= 224 && Convert.ToInt32(row[4]) >= 224, $"{want.FileName}: resized to {row[3]}x{row[4]}");
        }
        foreach (var error in errors)
        {
            var want = expected[Convert.ToInt64(error[0])];
            Assert.True(want.Error == (string)error[1]!, $"{want.FileName}: expected {want.Error ?? "a row"}, got {error[1]}: {error[3]}\n{report}");
            Assert.False(string.IsNullOrWhiteSpace((string)error[3]!));
        }
        Assert.Equal(expected.Values.Count(e => e.Error is null), merge.Rows);
        Assert.DoesNotContain(rows, r => ((string)r[5]!).Contains("outside", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_plan_naming_files_outside_the_root_quarantines_them_without_reading_them()
    {
        // the reader already refuses such names; this plan is written by hand, as a tampered plan folder would be
        File.WriteAllBytes(Path.Combine(_work, "outside.jpg"), SmallJpeg());
        Write("img/inside.jpg", SmallJpeg());
        File.CreateSymbolicLink(Path.Combine(Root, "img/dir-link"), _work); // a folder link leading out
        var names = new[] { "img/inside.jpg", "../outside.jpg", "img/../../outside.jpg", _work + "/outside.jpg", "img/dir-link/outside.jpg" };
        var images = names.Select((name, i) => new CorpusImage(i + 1, name, 64, 48, Splits.Train, 0, [])).ToList();
        var spec = new JobSpec { Corpus = Root, Output = Path.Combine(_work, "out"), Splits = ["train"], Model = "none", PartitionSize = 16 };
        var plan = PartitionPlanner.Plan("hand-made", images, new Dictionary<int, Category> { [0] = new(0, "Turdus migratorius", "Aves") },
            new JobPaths(spec.Output).PlanDir, spec.PartitionSize);

        var outcome = await JobServices.Create(1).ExecuteAsync(new PartitionWork("hand-made", spec, Assert.Single(plan.Partitions), 1, "test"), null,
            CancellationToken.None).WaitAsync(JobBound);

        Assert.Equal(1, outcome.Rows);
        Assert.Equal(names.Length - 1, outcome.Quarantined);
        Assert.Equal(names.Length - 1, outcome.QuarantineByKind.GetValueOrDefault("OutsideRoot"));
    }
}
