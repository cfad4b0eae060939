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
/// Checks the job settings of `run`, `submit` and `bench partitions` in one place, before the command runs (strict
/// parsing refuses unknown options and stray words; Program.cs refuses words after `--`).
/// </summary>
internal sealed class SettingsCheck : ICommandInterceptor
{
    public void Intercept(CommandContext context, CommandSettings settings)
    {
        if (settings is JobOptions job) job.CheckValues();
        // a submitted job runs on other machines: a relative path would silently become one of this machine's folders
        if (settings is SubmitCommand.Settings submit)
            foreach (var (option, path) in new[] { ("--corpus", submit.Corpus), ("--out", submit.Out) })
                if (!string.IsNullOrWhiteSpace(path) && !Path.IsPathFullyQualified(path))
                    throw new UserFacingException($"{option} {path} is a relative path: submit sends folders as every node sees them " +
                                                  $"(the shared volume), e.g. {option} /data/{(option == "--out" ? "out" : "corpus")}");
    }

    public void InterceptResult(CommandContext context, CommandSettings settings, ref int result)
    {
    }
}
