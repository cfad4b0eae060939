using System.ComponentModel;
using System.Globalization;
using Pipeline.Analysis;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>`pipeline export`: a finished dataset as WebDataset tar shards for training stacks that read no Parquet.</summary>
public sealed class ExportCommand : AsyncCommand<ExportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--format <FORMAT>")]
        [Description("Export format: webdataset (tar shards: KEY.jpg, KEY.json, KEY.npy per image). Default: webdataset")]
        [DefaultValue("webdataset")]
        public string Format { get; init; } = "webdataset";

        [CommandOption("--dataset <DIR>")]
        [Description("The finished dataset folder (OUT/dataset of `pipeline run`, with _SUCCESS)")]
        public string Dataset { get; init; } = "";

        [CommandOption("--out <DIR>")]
        [Description("Folder for the shards and manifest.json, outside the dataset: new, empty, or an earlier export (replaced)")]
        public string Out { get; init; } = "";

        [CommandOption("--shard-size <MB>")]
        [Description("Close a shard before it grows past this many MB (decimals allowed, at least 0.01). Default: 256")]
        [DefaultValue(WebDatasetExportOptions.DefaultShardMegabytes)]
        public double ShardSize { get; init; } = WebDatasetExportOptions.DefaultShardMegabytes;

        public override ValidationResult Validate()
        {
            if (Format != WebDatasetManifest.FormatName) return ValidationResult.Error($"--format {Format}: the format there is is webdataset");
            if (string.IsNullOrWhiteSpace(Dataset)) return ValidationResult.Error("--dataset is required");
            if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out is required: the folder for the shards");
            return ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var options = new WebDatasetExportOptions { ShardMegabytes = settings.ShardSize };
        try { options.Validate(); }
        catch (ArgumentException e)
        {
            throw UserFacingException.FromArgument(e, new Dictionary<string, string> { [nameof(options.ShardMegabytes)] = "--shard-size" });
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        WebDatasetManifest manifest = await WebDatasetExport.WriteAsync(settings.Dataset, settings.Out, options, null, cancellation);
        var inv = CultureInfo.InvariantCulture;
        long bytes = manifest.Shards.Sum(s => s.Bytes);
        AnsiConsole.MarkupLine($"Exported [bold]{manifest.Samples.ToString("N0", inv)}[/] samples ({manifest.WithImage.ToString("N0", inv)} with a JPEG, " +
                               $"{manifest.WithEmbedding.ToString("N0", inv)} with an embedding) into {manifest.Shards.Count} shards, " +
                               $"{(bytes / 1048576.0).ToString("F1", inv)} MB, in {clock.Elapsed.TotalSeconds.ToString("F1", inv)} s");
        AnsiConsole.MarkupLine($"  {Markup.Escape(Path.Combine(Path.GetFullPath(settings.Out), WebDatasetManifest.FileName))} lists them; " +
                               "docs/examples/webdataset_torch.py reads them with PyTorch");
        return 0;
    }
}
