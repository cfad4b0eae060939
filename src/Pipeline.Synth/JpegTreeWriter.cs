using Pipeline.Storage;

namespace Pipeline.Synth;

/// <summary>
/// Draws and writes every planned picture on all cores (<see cref="Parallel.For(int, int, ParallelOptions, Func{int, ParallelLoopState, long})"/>
/// with one <see cref="PhotoRenderer"/> per worker). Files go through a temporary name and a rename, so a killed run
/// never leaves a truncated JPEG (ImageSharp would decode one without complaint).
/// </summary>
internal static class JpegTreeWriter
{
    /// <summary>Progress reports per run, at most (plus the last one).</summary>
    private const int ProgressSteps = 500;

    public static (int Files, long Bytes) WriteAll(CorpusPlan plan, IProgress<SynthProgress>? progress, CancellationToken cancellation)
    {
        SynthOptions options = plan.Options;
        string root = Path.GetFullPath(options.OutDir);
        Directory.CreateDirectory(Path.Combine(root, CorpusPlan.TestFolder));
        foreach (PlannedClass planned in plan.Classes) Directory.CreateDirectory(Path.Combine(root, planned.Folder));

        int total = plan.Images.Length;
        int reportEvery = Math.Max(1, total / ProgressSteps);
        long bytes = 0;
        int done = 0, reported = 0;
        var progressGate = new object();
        var parallel = new ParallelOptions
        {
            MaxDegreeOfParallelism = options.Threads ?? Environment.ProcessorCount,
            CancellationToken = cancellation,
        };

        Parallel.For(
            0,
            total,
            parallel,
            () => new PhotoRenderer(options.JpegQuality),
            (index, _, renderer) =>
            {
                Interlocked.Add(ref bytes, WriteOne(plan, root, index, renderer));
                int finished = Interlocked.Increment(ref done);
                if (progress != null && (finished % reportEvery == 0 || finished == total))
                {
                    // reports from several threads: keep them monotonic for the progress bar
                    lock (progressGate)
                    {
                        if (finished > reported)
                        {
                            reported = finished;
                            progress.Report(new SynthProgress(SynthPhase.Images, finished, total));
                        }
                    }
                }

                return renderer;
            },
            static _ => { });

        return (total, bytes);
    }

    private static long WriteOne(CorpusPlan plan, string root, int index, PhotoRenderer renderer)
    {
        ref readonly PlannedImage image = ref plan.Images[index];
        ReadOnlySpan<byte> jpeg = renderer.EncodeJpeg(plan, image);
        string path = Path.Combine(root, plan.FileName(image));
        // a generated corpus is made again from its seed, not recovered: no fsync for each of its many files (6 ms each here)
        DurableFiles.Write(path, jpeg, static (file, bytes) => file.Write(bytes), fsyncDirectory: false, fsyncFile: false);
        return jpeg.Length;
    }
}
