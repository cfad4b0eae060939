using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Pipeline.Jobs;
using Pipeline.Processing;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>
/// `pipeline bench partitions`: the node pipeline alone, without the cluster: plans the job, then runs every
/// partition through it on this process's cores, a few at once as one worker holds them. Its images/s against `pipeline run` on
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
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        long rows = 0, quarantined = 0;
        // as a worker holds them: a few partitions in the node pipeline at once, so decoding never stops between two
        var running = new List<Task<PartitionOutcome>>();
        foreach (var partition in job.Plan.Partitions)
        {
            if (running.Count >= PartitionsHeld) Count(await Next(running));
            running.Add(services.ExecuteAsync(new PartitionWork(job.JobId, spec, partition, Attempt: 1, "bench"), null, cancellation));
        }
        while (running.Count > 0) Count(await Next(running));
        var seconds = clock.Elapsed.TotalSeconds;
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        var inv = CultureInfo.InvariantCulture;
        // plain lines (no terminal wrapping): scripts parse them (bench/cpu-compare.sh)
        Console.WriteLine(string.Format(inv,
            "partition processor alone: {0:N0} images ({1:N0} rows, {2:N0} quarantined) in {3:N0} partitions, {4:F1} s " +
            "= {5:N0} images/s on {6} cores; planning {7:F1} s",
            rows + quarantined, rows, quarantined, job.Plan.Partitions.Length, seconds, (rows + quarantined) / seconds, threads, planSeconds));
        // CPU time is what a dedicated machine would spend: on a shared one it is steadier than the wall clock
        Console.WriteLine(string.Format(inv, "cpu time while processing: {0:F1} s = {1:N0} images per CPU-second",
            cpuSeconds, (rows + quarantined) / Math.Max(cpuSeconds, 1e-9)));
        if (services.Stages() is { } stages) Console.WriteLine("pipeline stages:\n" + stages.Describe());
        return 0;

        void Count(PartitionOutcome outcome)
        {
            rows += outcome.Rows;
            quarantined += outcome.Quarantined;
        }
    }

    /// <summary>Partitions handed to the node pipeline at once, like a worker's partitions in flight plus prefetch.</summary>
    private const int PartitionsHeld = 4;

    private static async Task<PartitionOutcome> Next(List<Task<PartitionOutcome>> running)
    {
        var done = await Task.WhenAny(running);
        running.Remove(done);
        return await done;
    }
}
