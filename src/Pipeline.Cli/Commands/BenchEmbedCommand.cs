using System.ComponentModel;
using System.Globalization;
using Pipeline.Embedding;
using Pipeline.Jobs;
using Spectre.Console;
using Spectre.Console.Cli;
using Pipeline.Processing;

namespace Pipeline.Cli.Commands;

/// <summary>`pipeline bench embed`: embedding throughput alone, synthetic uint8 crops from host memory.</summary>
public sealed class BenchEmbedCommand : Command<BenchEmbedCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--device <DEVICE>")]
        [Description("cpu or cuda. Default: cpu")]
        [DefaultValue("cpu")]
        public string Device { get; init; } = "cpu";

        [CommandOption("--precision <P>")]
        [Description("fp32 or fp16. Default: fp32")]
        [DefaultValue("fp32")]
        public string Precision { get; init; } = "fp32";

        [CommandOption("--input <KIND>")]
        [Description("pixels (uint8, normalised in the graph) or float (normalised on the host). Default: pixels")]
        [DefaultValue("pixels")]
        public string Input { get; init; } = "pixels";

        [CommandOption("--batch <N>")]
        [Description("Batch size, or auto to pick the fastest of 64,128,256,512. Default: auto")]
        [DefaultValue("auto")]
        public string Batch { get; init; } = "auto";

        [CommandOption("--seconds <S>")]
        [Description("Seconds of the measured run. Default: 20")]
        [DefaultValue(20.0)]
        public double Seconds { get; init; } = 20;

        [CommandOption("--model <FILE>")]
        [Description("resnet18 or an .onnx file. Default: resnet18")]
        [DefaultValue("resnet18")]
        public string Model { get; init; } = "resnet18";
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var spec = new JobSpec { Corpus = ".", Output = ".", Model = settings.Model };
        var options = new EmbeddingThroughputOptions
        {
            Embedding = new EmbeddingOptions
            {
                ModelPath = JobServices.ResolveModelPath(spec) ?? throw new UserFacingException("--model none has nothing to measure"),
                Spec = JobServices.ResolveModelSpec(spec),
                Device = settings.Device == "cuda" ? EmbeddingDevice.Cuda : EmbeddingDevice.Cpu,
                Precision = settings.Precision == "fp16" ? EmbeddingPrecision.Fp16 : EmbeddingPrecision.Fp32,
                Input = settings.Input == "float" ? EmbeddingInput.HostFloat : EmbeddingInput.PixelsInGraph,
                IntraOpThreads = Environment.ProcessorCount,
            },
            BatchSize = settings.Batch == "auto" ? null : int.Parse(settings.Batch, CultureInfo.InvariantCulture),
            Seconds = settings.Seconds,
        };
        var result = EmbeddingThroughput.Run(options);
        var inv = CultureInfo.InvariantCulture;
        foreach (var trial in result.AutoTune)
            AnsiConsole.WriteLine(string.Format(inv, "  trial batch {0,4}: {1,10:N1} images/s", trial.BatchSize, trial.ImagesPerSecond));
        var m = result.Measured;
        AnsiConsole.WriteLine(string.Format(inv,
            "embed {0} {1} input={2} batch={3} in-flight={4} sessions={5}: {6:N1} images/s ({7:N0} images in {8:F1} s; batch ms mean {9:F2} p50 {10:F2} p95 {11:F2}){12}",
            result.Device.ToString().ToLowerInvariant(), result.Precision.ToString().ToLowerInvariant(), result.Input, m.BatchSize,
            result.BatchesInFlight, result.Sessions, m.ImagesPerSecond, m.Images, m.Seconds, m.MeanBatchMs, m.P50BatchMs, m.P95BatchMs,
            result.FallbackReason is null ? "" : $" (fell back: {result.FallbackReason})"));
        return 0;
    }
}
