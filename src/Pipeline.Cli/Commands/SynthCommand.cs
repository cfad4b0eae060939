using System.ComponentModel;
using System.Globalization;
using Pipeline.Synth;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>`pipeline synth`: an iNat2017-shaped corpus with real species names; deterministic for a seed.</summary>
public sealed class SynthCommand : Command<SynthCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--out <DIR>")]
        [Description("Folder to write the corpus to (JSON files and train_val_images/)")]
        public string Out { get; init; } = "";

        [CommandOption("--scale <S>")]
        [Description("Fraction of the release, above 0 and at most 1; 1 matches the paper's Table 2 (675,170 train+val images). Default: 0.001")]
        [DefaultValue(SynthOptions.DefaultScale)]
        public double Scale { get; init; } = SynthOptions.DefaultScale;

        [CommandOption("--seed <N>")]
        [Description("Seed; the same seed gives the same bytes on any number of cores. Default: 2017")]
        [DefaultValue(SynthOptions.DefaultSeed)]
        public int Seed { get; init; } = SynthOptions.DefaultSeed;

        [CommandOption("--max-side <PX>")]
        [Description("Longest image side. Default: 800 (as in the release)")]
        [DefaultValue(SynthOptions.DefaultMaxSide)]
        public int MaxSide { get; init; } = SynthOptions.DefaultMaxSide;

        [CommandOption("--no-images")]
        [Description("Write the annotation files only")]
        public bool NoImages { get; init; }

        [CommandOption("--threads <N>")]
        [Description("Cores for image generation. Default: all")]
        public int? Threads { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Out) ? ValidationResult.Error("--out is required") : ValidationResult.Success();
    }

    private static readonly Dictionary<string, string> OptionOfParameter = new()
    {
        [nameof(SynthOptions.OutDir)] = "--out", [nameof(SynthOptions.Scale)] = "--scale",
        [nameof(SynthOptions.MaxSide)] = "--max-side", [nameof(SynthOptions.Threads)] = "--threads",
    };

    /// <summary>The small corpus `pipeline run` generates when no corpus is given.</summary>
    public static void GenerateDemo(string dir)
    {
        var summary = Generate(SynthOptions.Demo(dir));
        Print(summary);
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var options = new SynthOptions(settings.Out, settings.Scale, settings.Seed, settings.MaxSide, !settings.NoImages, settings.Threads);
        try { options.Validate(); }
        catch (ArgumentException e) { throw UserFacingException.FromArgument(e, OptionOfParameter); }
        Print(Generate(options, cancellation));
        return 0;
    }

    private static SynthSummary Generate(SynthOptions options, CancellationToken cancellation = default)
    {
        SynthSummary? summary = null;
        if (Console.IsOutputRedirected)
        {
            var last = DateTimeOffset.MinValue;
            var progress = new SyncProgress(p =>
            {
                if (DateTimeOffset.UtcNow - last < TimeSpan.FromSeconds(5) && p.Done != p.Total) return;
                last = DateTimeOffset.UtcNow;
                Console.WriteLine($"{p.Phase}: {p.Done:N0}/{p.Total:N0}");
            });
            return CorpusGenerator.Generate(options, progress, cancellation);
        }
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var tasks = new Dictionary<SynthPhase, ProgressTask>();
                var progress = new SyncProgress(p =>
                {
                    if (!tasks.TryGetValue(p.Phase, out var task))
                        tasks[p.Phase] = task = ctx.AddTask(p.Phase.ToString().ToLowerInvariant(), maxValue: Math.Max(1, p.Total));
                    task.MaxValue = Math.Max(1, p.Total);
                    task.Value = p.Done;
                });
                summary = CorpusGenerator.Generate(options, progress, cancellation);
            });
        return summary!;
    }

    private static void Print(SynthSummary s)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Format(inv,
            "wrote {0}: {1:N0} classes, {2:N0} train, {3:N0} val, {4:N0} test images, {5:N0} boxes, {6:N0} JPEGs (mean {7:N1} KB) in {8:F1} s",
            s.OutDir, s.Classes, s.TrainImages, s.ValImages, s.TestImages, s.Boxes, s.JpegFiles, s.MeanJpegBytes / 1024, s.Elapsed.TotalSeconds));
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool, out of order).</summary>
    private sealed class SyncProgress(Action<SynthProgress> report) : IProgress<SynthProgress>
    {
        private readonly Lock _gate = new();
        public void Report(SynthProgress value)
        {
            lock (_gate) report(value);
        }
    }
}
