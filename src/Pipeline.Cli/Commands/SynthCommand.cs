using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

public sealed class SynthCommand : Command<SynthCommand.Settings>
{
    public sealed class Settings : CommandSettings;

    /// <summary>The small corpus `pipeline run` generates when no corpus is given.</summary>
    public static void GenerateDemo(string dir) => throw new NotImplementedException("wired when the generator lands");

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation) =>
        throw new NotImplementedException("wired when the generator lands");
}
