using System.ComponentModel;
using Pipeline.Corpus;
using Pipeline.Analysis.Stats;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>`pipeline stats`: the paper's corpus statistics from the JSON alone (no image is opened).</summary>
public sealed class StatsCommand : Command<StatsCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--corpus <DIR>")]
        [Description("Corpus root: the folder holding train2017.json, val2017.json and test2017.json (the box files beside them)")]
        public string Corpus { get; init; } = "";

        [CommandOption("--json")]
        [Description("Print JSON with stable field names (docs/stats-json.md) instead of tables")]
        public bool Json { get; init; }

        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Corpus) ? ValidationResult.Error("--corpus is required") : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (!Directory.Exists(settings.Corpus)) throw new UserFacingException($"corpus folder {settings.Corpus} does not exist");
        StatsReport report;
        try
        {
            report = CorpusStatistics.Compute(new CorpusReader(settings.Corpus));
        }
        catch (CorpusFormatException e)
        {
            throw new UserFacingException(e.Message);
        }
        Console.WriteLine(settings.Json ? report.ToJson() : report.ToText());
        return 0;
    }
}
