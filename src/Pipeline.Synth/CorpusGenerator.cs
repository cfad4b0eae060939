using System.Diagnostics;

namespace Pipeline.Synth;

/// <summary>
/// <c>pipeline synth</c>: writes an iNat2017-shaped corpus (the five JSON files of the release and the JPEG tree) with
/// the real species names. Scale 1 matches the paper's Table 2 exactly. Plan (one thread) -> JSON -> JPEGs (all cores).
/// </summary>
public static class CorpusGenerator
{
    public static SynthSummary Generate(SynthOptions options, IProgress<SynthProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var clock = Stopwatch.StartNew();

        CorpusPlan plan = CorpusPlanner.Plan(options, progress);
        cancellation.ThrowIfCancellationRequested();
        AnnotationWriter.WriteAll(plan, progress, cancellation);
        (int files, long bytes) = options.WriteImages ? JpegTreeWriter.WriteAll(plan, progress, cancellation) : (0, 0L);

        return new SynthSummary(
            Path.GetFullPath(options.OutDir),
            plan.Classes.Length,
            plan.TrainImages,
            plan.ValImages,
            plan.TestImages,
            plan.Boxes.Length,
            files,
            bytes,
            clock.Elapsed,
            plan.SuperClasses);
    }
}
