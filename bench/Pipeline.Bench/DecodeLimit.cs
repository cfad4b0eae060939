using System.Diagnostics;
using Pipeline.Imaging;

namespace Pipeline.Bench;

/// <summary>
/// The decoder's own limit: the pipeline's decoder (decode + resize + centre crop, the job's default settings) on the
/// same files, read into memory first, one thread per core and nothing else. What the node pipeline could reach if
/// reading, scheduling, boxes and writing cost nothing.
/// <code>dotnet bench/Pipeline.Bench/bin/Release/net10.0/Pipeline.Bench.dll decode-limit CORPUS_DIR [THREADS] [ROUNDS]</code>
/// </summary>
internal static class DecodeLimit
{
    public static int Run(string[] args)
    {
        var folder = args[1];
        var threads = args.Length > 2 ? int.Parse(args[2]) : Environment.ProcessorCount;
        var rounds = args.Length > 3 ? int.Parse(args[3]) : 2;
        // a corpus: the train and val images the job processes (its test images are not part of it)
        var images = Path.Combine(folder, "train_val_images");
        var files = Directory.EnumerateFiles(Directory.Exists(images) ? images : folder, "*.jpg", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToArray();
        if (files.Length == 0) throw new InvalidOperationException($"no JPEG under {folder}");
        var decoder = DecoderRegistry.Create(null);
        var options = new ImageStageOptions();

        // warm-up: JIT and the decoder's tables, on every thread
        Pass(files, Math.Min(files.Length, threads * 50), threads, decoder, options);
        var best = 0.0;
        for (var round = 0; round < rounds; round++)
        {
            var clock = Stopwatch.StartNew();
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            Pass(files, files.Length, threads, decoder, options);
            var rate = files.Length / clock.Elapsed.TotalSeconds;
            var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
            Console.WriteLine($"decode-limit round {round + 1}: {files.Length} images in {clock.Elapsed.TotalSeconds:F2} s = {rate:F0} images/s on {threads} threads");
            Console.WriteLine($"cpu time: {cpu:F1} s = {files.Length / cpu:F0} images per CPU-second");
            best = Math.Max(best, rate);
        }
        Console.WriteLine($"decode-limit: {best:F0} images/s ({decoder.Name}, {files.Length} images, mean {files.Average(f => f.Length) / 1024:F1} KB, {threads} threads)");
        return 0;
    }

    private static void Pass(byte[][] files, int count, int threads, IImageDecoder decoder, ImageStageOptions options)
    {
        var next = -1;
        var workers = new Thread[threads];
        for (var t = 0; t < threads; t++)
        {
            workers[t] = new Thread(() =>
            {
                var crop = new byte[options.CropBytes];
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                    decoder.Prepare(files[i], 0, 0, options, crop);
            });
            workers[t].Start();
        }
        foreach (var worker in workers) worker.Join();
    }
}
