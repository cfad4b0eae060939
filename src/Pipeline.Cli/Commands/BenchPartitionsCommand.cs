using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Pipeline.Jobs;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>
/// `pipeline bench partitions`: the partition processor alone, without the cluster: plans the job, then runs every
/// partition one after another on this process's cores, as one worker would. Its images/s against `pipeline run` on
/// the same corpus and cores is the cluster's overhead.
/// </summary>
public sealed class BenchPartitionsCommand : AsyncCommand<BenchPartitionsCommand.Settings>
{
    public sealed class Settings : JobOptions
    {
        [CommandOption("--threads <N>")]
        [Description("Cores for decoding. Default: all")]
        public int? Threads { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (settings.Corpus is null) throw new UserFacingException("--corpus is required");
        var spec = settings.ToSpec(settings.Corpus, settings.Out ?? "pipeline-bench-output");
        var threads = settings.Threads ?? Environment.ProcessorCount;
        await using var services = JobServices.Create(threads);
        var clock = Stopwatch.StartNew();
        var job = services.Prepare(spec, cancellation);
        var parts = new JobPaths(spec.Output).PartsDir;
        if (Directory.Exists(parts)) Directory.Delete(parts, recursive: true); // a rerun writes attempt 1 again
        var planSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        long rows = 0, quarantined = 0;
        foreach (var partition in job.Plan.Partitions)
        {
            var outcome = await services.ExecuteAsync(new PartitionWork(job.JobId, spec, partition, Attempt: 1, "bench"),
                null, cancellation);
            rows += outcome.Rows;
            quarantined += outcome.Quarantined;
        }
        var seconds = clock.Elapsed.TotalSeconds;
        var inv = CultureInfo.InvariantCulture;
        AnsiConsole.WriteLine(string.Format(inv,
            "partition processor alone: {0:N0} images ({1:N0} rows, {2:N0} quarantined) in {3:N0} partitions, {4:F1} s " +
            "= {5:N0} images/s on {6} cores; planning {7:F1} s",
            rows + quarantined, rows, quarantined, job.Plan.Partitions.Length, seconds, (rows + quarantined) / seconds, threads, planSeconds));
        return 0;
    }
}
