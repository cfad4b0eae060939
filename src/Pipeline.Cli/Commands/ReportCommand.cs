using System.ComponentModel;
using System.Globalization;
using Pipeline.Analysis;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>`pipeline report`: a self-contained HTML report of a merged dataset, with its charts as SVG and PNG beside it.</summary>
public sealed class ReportCommand : AsyncCommand<ReportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--dataset <DIR>")]
        [Description("The merged dataset folder (OUT/dataset of `pipeline run`)")]
        public string Dataset { get; init; } = "";

        [CommandOption("--out <FILE>")]
        [Description("HTML file to write; the charts go beside it as FILE-<chart>.svg/.png. Default: report.html beside the dataset folder (OUT/report.html for OUT/dataset), never inside it")]
        public string? Out { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Dataset) ? ValidationResult.Error("--dataset is required") : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        DatasetSummary summary = await DatasetSummaryBuilder.BuildAsync(settings.Dataset, cancellation);
        string html = settings.Out ?? Path.Combine(DatasetFolder.Open(summary.Dataset).AnalysisDir, DatasetFolder.ReportFile);
        ReportFiles files = await HtmlReport.WriteAsync(summary, html, cancellation);
        var inv = CultureInfo.InvariantCulture;
        AnsiConsole.MarkupLine($"Report: [bold]{Markup.Escape(files.Html)}[/] ({files.ChartFiles.Count / 2} charts as SVG and PNG beside it)");
        AnsiConsole.MarkupLine($"  {summary.Total.Classes.ToString("N0", inv)} species, {summary.Total.TrainImages.ToString("N0", inv)} train and " +
                               $"{summary.Total.ValImages.ToString("N0", inv)} val images, {summary.Total.Boxes.ToString("N0", inv)} boxes, " +
                               $"imbalance {(summary.Train.Imbalance is { } i ? i.ToString("F2", inv) : "-")}, " +
                               $"{summary.Quarantine.Images.ToString("N0", inv)} quarantined");
        if (summary.Probe is null)
            AnsiConsole.MarkupLine($"  No probe results yet: `pipeline probe --dataset {Markup.Escape(summary.Dataset)}` adds Tables 3 and 4.");
        return 0;
    }
}
