using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Pipeline.Imaging;

namespace Pipeline.Bench;

/// <summary>
/// Decode + resize + 224 crop per backend on one thread, over 48 realistic 800 px JPEGs; the mean is per image, so
/// images/s per core = 1 s / mean. With <see cref="StoredCopy"/> it also writes the 256 px JPEG q90 stored copy.
/// On a shared machine wall time overstates the cost, so the run also prints the benchmark thread's CPU time per
/// image ("cpu-ms/img"), close to what a dedicated core would take.
///   dotnet run -c Release --project bench/Pipeline.Bench -- --filter '*Decode*'
/// </summary>
[Config(typeof(DecodeBenchConfig))]
[MemoryDiagnoser]
public class DecodeBenchmarks
{
    private byte[][] _files = [];
    private byte[] _crop = [];
    private IImageDecoder _decoder = null!;
    private ImageStageOptions _options = null!;
    private long _cpuNanoseconds;
    private long _imagesTimed;

    [Params(ImageSharpDecoder.DecoderName, SkiaDecoder.DecoderName)]
    public string Decoder { get; set; } = SkiaDecoder.DecoderName;

    [Params(false, true)]
    public bool StoredCopy { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _files = DecodeBenchCorpus.Load();
        _decoder = DecoderRegistry.Create(Decoder);
        _options = new ImageStageOptions(StoreShorter: StoredCopy ? 256 : null, StoreQuality: 90);
        _crop = new byte[_options.CropBytes];
        // ImageSharp needs seconds of tiered JIT before it runs at full speed; give both backends the same
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(6))
            PrepareEach();
    }

    [Benchmark(OperationsPerInvoke = DecodeBenchCorpus.ImageCount)]
    public int PrepareAll()
    {
        long start = ThreadCpuClock.Nanoseconds();
        int pixels = PrepareEach();
        _cpuNanoseconds += ThreadCpuClock.Nanoseconds() - start;
        _imagesTimed += _files.Length;
        return pixels;
    }

    [GlobalCleanup]
    public void ReportCpuTime()
    {
        if (_imagesTimed == 0 || _cpuNanoseconds <= 0) return;
        double cpuMilliseconds = _cpuNanoseconds / 1e6 / _imagesTimed;
        Console.WriteLine($"// cpu-ms/img {Decoder} stored={StoredCopy}: {cpuMilliseconds:F3} ms = {1000 / cpuMilliseconds:F0} images/s per core ({_imagesTimed} images)");
    }

    private int PrepareEach()
    {
        int pixels = 0;
        foreach (var file in _files)
        {
            var prepared = _decoder.Prepare(file, 0, 0, _options, _crop);
            pixels += prepared.Width;
        }
        return pixels;
    }
}

/// <summary>Short and in-process: the numbers are for a ranking and a rough per-core rate, not a paper.</summary>
public sealed class DecodeBenchConfig : BenchmarkDotNet.Configs.ManualConfig
{
    public DecodeBenchConfig()
    {
        AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(5));
    }
}

/// <summary>CPU time of the calling thread (Linux CLOCK_THREAD_CPUTIME_ID); 0 elsewhere, which disables the report.</summary>
internal static class ThreadCpuClock
{
    private const int ClockThreadCpuTime = 3;

    public static long Nanoseconds()
    {
        if (!OperatingSystem.IsLinux()) return 0;
        return ClockGetTime(ClockThreadCpuTime, out var time) == 0 ? time.Seconds * 1_000_000_000 + time.Nanoseconds : 0;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
