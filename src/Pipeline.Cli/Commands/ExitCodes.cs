using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>The one exit-code convention of every `pipeline` command (README, "Exit codes").</summary>
public static class ExitCodes
{
    /// <summary>Done: the command did what it was asked (for a job: it succeeded and its dataset is complete).</summary>
    public const int Done = 0;

    /// <summary>The job failed or was cancelled, or the work failed at run time (a disk error, a lost cluster).</summary>
    public const int Failed = 1;

    /// <summary>Bad usage or bad input: an unknown option, a stray argument, a value out of range, a missing or invalid folder or file.</summary>
    public const int BadUsage = 2;

    /// <summary>Interrupted by Ctrl-C (128 + SIGINT, as shells report it).</summary>
    public const int Interrupted = 130;
}

/// <summary>
/// Checks every command's settings before it runs, in one place: nothing left over on the command line (strict parsing
/// refuses unknown options; this refuses words after `--`), and the job settings in range.
/// </summary>
internal sealed class SettingsCheck : ICommandInterceptor
{
    public void Intercept(CommandContext context, CommandSettings settings)
    {
        if (context.Remaining.Raw.Count > 0)
            throw new UserFacingException($"unexpected argument{(context.Remaining.Raw.Count == 1 ? "" : "s")} " +
                                          $"'{string.Join(" ", context.Remaining.Raw)}': `pipeline {context.Name} --help` lists the options");
        if (settings is JobOptions job) job.CheckValues();
    }

    public void InterceptResult(CommandContext context, CommandSettings settings, ref int result)
    {
    }
}
