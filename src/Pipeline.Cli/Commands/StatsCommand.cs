using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

public sealed class StatsCommand : Command<StatsCommand.Settings>
{
    public sealed class Settings : CommandSettings;

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation) =>
        throw new NotImplementedException("wired when the reader lands");
}
