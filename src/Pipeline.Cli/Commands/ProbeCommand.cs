using System.ComponentModel;
using Pipeline.Analysis;
using Pipeline.Storage;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>
/// `pipeline probe`: a linear classifier on the train embeddings, evaluated on val, printed in the layout of the
/// paper's Tables 3 and 4 and saved as JSON for `pipeline report`.
/// </summary>
public sealed class ProbeCommand : AsyncCommand<ProbeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--dataset <DIR>")]
        [Description("The merged dataset folder (OUT/dataset of `pipeline run`, with embeddings)")]
        public string Dataset { get; init; } = "";

        [CommandOption("--shuffle-labels")]
        [Description("Control run: permute the train labels; accuracy must fall to chance")]
        public bool ShuffleLabels { get; init; }

        [CommandOption("--seed <N>")]
        [Description("Seed of the trainer, the label shuffle and the per-class sample. Default: 1")]
        [DefaultValue(1)]
        public int Seed { get; init; } = 1;

        [CommandOption("--max-per-class <N>")]
        [Description("Train on at most N images per species (a seeded sample). Default: all")]
        public int? MaxPerClass { get; init; }

        [CommandOption("--l2 <W>")]
        [Description("L2 regularisation weight. Default: 1")]
        [DefaultValue(1f)]
        public float L2 { get; init; } = 1f;

        [CommandOption("--iterations <N>")]
        [Description("L-BFGS iterations at most. Default: 200")]
        [DefaultValue(200)]
        public int Iterations { get; init; } = 200;

        [CommandOption("--threads <N>")]
        [Description("Trainer threads; 1 gives the same numbers on every run. Default: 1")]
        [DefaultValue(1)]
        public int Threads { get; init; } = 1;

        [CommandOption("--out <FILE>")]
        [Description("JSON file to write. Default: probe.json beside the dataset folder (OUT/probe.json for OUT/dataset; probe-shuffled-labels.json with --shuffle-labels), where `pipeline report` reads it")]
        public string? Out { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Dataset) ? ValidationResult.Error("--dataset is required") : ValidationResult.Success();
    }

    private static readonly Dictionary<string, string> OptionOfParameter = new()
    {
        [nameof(LinearProbeOptions.MaxTrainPerClass)] = "--max-per-class", [nameof(LinearProbeOptions.L2Regularization)] = "--l2",
        [nameof(LinearProbeOptions.MaximumIterations)] = "--iterations", [nameof(LinearProbeOptions.Threads)] = "--threads",
    };

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var options = new LinearProbeOptions
        {
            Seed = settings.Seed, ShuffleLabels = settings.ShuffleLabels, MaxTrainPerClass = settings.MaxPerClass,
            L2Regularization = settings.L2, MaximumIterations = settings.Iterations, Threads = settings.Threads,
        };
        try { options.Validate(); }
        catch (ArgumentException e) { throw UserFacingException.FromArgument(e, OptionOfParameter); }
        ProbeResult result = await LinearProbe.RunAsync(settings.Dataset, options, cancellation);
        string output = settings.Out ?? DatasetFolder.Open(result.Dataset).ProbePath(settings.ShuffleLabels);
        string? dir = Path.GetDirectoryName(Path.GetFullPath(output));
        if (dir is not null) Directory.CreateDirectory(dir);
        await DurableFiles.WriteAllTextAsync(output, result.ToJson(), cancellation);
        Console.Write(result.ToText());
        AnsiConsole.MarkupLine($"Saved [bold]{Markup.Escape(output)}[/] ({result.TrainSeconds:F1} s); `pipeline report` shows it as Tables 3 and 4.");
        return 0;
    }
}
