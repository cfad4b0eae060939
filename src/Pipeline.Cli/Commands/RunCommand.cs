using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Pipeline.Cluster.Coordinator;
using Pipeline.Cluster.Hosting;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;
using Pipeline.Processing;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>`pipeline run`: the whole job in one process, on an embedded cluster over loopback TCP.</summary>
public sealed class RunCommand : AsyncCommand<RunCommand.Settings>
{
    public sealed class Settings : JobOptions
    {
        [CommandOption("--workers <N>")]
        [Description("Worker nodes in the embedded cluster; the machine's cores are shared among them. Default: 1")]
        [DefaultValue(1)]
        public int Workers { get; init; } = 1;

        [CommandOption("--threads <N>")]
        [Description("Cores for decoding in all. Default: all cores")]
        public int? Threads { get; init; }

        [CommandOption("--api <URL>")]
        [Description("Also serve the HTTP API and live dashboard while the job runs, e.g. http://127.0.0.1:8080")]
        public string? Api { get; init; }

        [CommandOption("--config <FILE>")]
        [Description("Extra HOCON file layered over cluster-config/")]
        public string? Config { get; init; }

        [CommandOption("--verbose")]
        [Description("Print the embedded cluster's log at debug level (membership, leases, commits, shutdown phases)")]
        public bool Verbose { get; init; }

        [CommandOption("--allow-nonempty-out")]
        [Description("Use an --out folder that holds files Pipeline did not write (they are left alone). Default: such a folder is refused")]
        public bool AllowNonEmptyOut { get; init; }
    }

    /// <summary>
    /// The embedded cluster lives in this process and ends with its job. Akka's 1 s defaults for finding the coordinator
    /// singleton and for a leaving coordinator to give it up cost a short run about 2 s of its wall time (measured: the
    /// proxy found the singleton 0.95 s after it started, and shutdown waited 1.0 s in WasOldest); 100 ms here.
    /// Layered under --config, so a user's file still wins.
    /// </summary>
    public const string EmbeddedClusterHocon = """
        akka.cluster.singleton-proxy.singleton-identification-interval = 100ms
        akka.cluster.singleton.hand-over-retry-interval = 100ms
        akka.cluster.leader-actions-interval = 100ms
        akka.cluster.periodic-tasks-initial-delay = 100ms
        """;

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        if (settings.Workers < 1) throw new UserFacingException("--workers must be at least 1");
        var output = settings.Out ?? "pipeline-output";
        var corpus = settings.Corpus ?? Path.Combine(output, "demo-corpus");
        if (settings.Corpus is not null && !Directory.Exists(corpus))
            throw new UserFacingException($"corpus folder {corpus} does not exist");
        var spec = settings.ToSpec(corpus, output) with { AllowNonEmptyOut = settings.AllowNonEmptyOut };
        var threads = settings.Threads ?? Environment.ProcessorCount;
        var perWorker = Math.Max(1, threads / settings.Workers);
        var gpu = spec.Device == "cuda";
        var configFiles = settings.Config is null ? Array.Empty<string>() : [settings.Config];
        var logLevel = settings.Verbose ? Microsoft.Extensions.Logging.LogLevel.Debug : Microsoft.Extensions.Logging.LogLevel.Warning;
        var firstNode = new NodeOptions
        {
            Coordinator = true, Worker = true, Local = true, ConfigFiles = configFiles, WorkerName = "worker-1", Gpu = gpu, Api = settings.Api,
            DefaultsHocon = EmbeddedClusterHocon, MinimumLogLevel = logLevel,
        };
        // everything that can refuse the run is checked before the demo corpus is written into the folder: the folder's
        // owner (another job or run holds it; files Pipeline did not write), the job's options and model, the nodes'
        // configuration and environment. The job checks again itself and takes the lock.
        try
        {
            OutputLock.ThrowIfHeld(spec.Output);
            OutputFolder.CheckOwnership(spec.Output, spec.AllowNonEmptyOut);
            JobServices.Validate(spec, corpusMustExist: false);
        }
        catch (Exception e) when (e is OutputInUseException or InvalidDataException)
        {
            throw new UserFacingException(e.Message);
        }
        PipelineNode.LoadCheckedConfig(firstNode);
        if (settings.Corpus is null && !File.Exists(Path.Combine(corpus, "train2017.json")))
        {
            AnsiConsole.MarkupLine($"No --corpus given: generating a small demo corpus in [bold]{Markup.Escape(corpus)}[/]");
            SynthCommand.GenerateDemo(corpus);
        }

        using var stop = new StopSignals(() => StopReport(spec.Output));
        using var running = CancellationTokenSource.CreateLinkedTokenSource(cancellation, stop.Token);
        // node 0 holds the coordinator singleton and the first worker; more workers join it over loopback TCP
        var hosts = new List<IHost>();
        var services = new List<JobServices>();
        try
        {
            services.Add(JobServices.Create(perWorker));
            stop.OnHardExit = services[0].ReleaseOutputs;
            var first = PipelineNode.Build(firstNode, services[0]);
            await first.StartAsync(running.Token);
            hosts.Add(first);
            var system = first.Services.GetRequiredService<ActorSystem>();
            var seed = Akka.Cluster.Cluster.Get(system).SelfAddress.ToString();
            for (var i = 2; i <= settings.Workers; i++)
            {
                services.Add(JobServices.Create(perWorker));
                var worker = PipelineNode.Build(new NodeOptions
                {
                    Worker = true, Local = true, ConfigFiles = configFiles, SeedNodes = [seed], WorkerName = $"worker-{i}", Gpu = gpu,
                    DefaultsHocon = EmbeddedClusterHocon, MinimumLogLevel = logLevel,
                }, services[^1]);
                await worker.StartAsync(running.Token);
                hosts.Add(worker);
            }
            var proxy = first.Services.GetRequiredService<ActorRegistry>().Get<JobManagerProxy>();
            var reply = await proxy.Ask<object>(new SubmitJob(spec), TimeSpan.FromMinutes(10), running.Token);
            if (reply is JobRejected rejected) throw new UserFacingException($"job rejected: {rejected.Reason}");
            var accepted = (JobAccepted)reply;
            AnsiConsole.MarkupLine($"Job [bold]{accepted.JobId}[/]: {Markup.Escape(spec.Corpus)} -> {Markup.Escape(spec.Output)} " +
                                   $"({settings.Workers} worker(s), {threads} cores, model {Markup.Escape(spec.Model)}, device {spec.Device})");
            var status = await WatchAsync(proxy, running.Token);
            PrintSummary(status);
            foreach (var stats in services.SelectMany(s => s.EmbeddingStats())) PrintEmbedding(stats);
            foreach (var stages in services.Select(s => s.Stages()).OfType<StageFigures>()) AnsiConsole.WriteLine("pipeline stages:\n" + stages.Describe());
            return status.State == JobStates.Succeeded ? 0 : 1;
        }
        catch (Exception e) when (stop.Signal is not null && e is OperationCanceledException or AskTimeoutException or UserFacingException)
        {
            // Ctrl-C or SIGTERM: the finally below stops the nodes (bounded); then say what is kept
            return stop.ExitCode;
        }
        finally
        {
            if (stop.Signal is null)
            {
                for (var i = hosts.Count - 1; i >= 0; i--)
                {
                    await hosts[i].StopAsync(CancellationToken.None);
                    hosts[i].Dispose();
                }
                foreach (var s in services) await s.DisposeAsync();
            }
            else
            {
                // bounded: a node that does not stop in time is left to the process exit (the watchdog ends it)
                var stopping = Task.Run(async () =>
                {
                    for (var i = hosts.Count - 1; i >= 0; i--) await hosts[i].StopAsync(CancellationToken.None);
                });
                await Task.WhenAny(stopping, Task.Delay(StopSignals.OrderlyStop));
                foreach (var s in services) s.ReleaseOutputs();
                stop.ReportOnce();
                // End here rather than return: returning runs the native libraries' exit handlers while an embedding
                // batch may still run on its own thread, and ONNX Runtime then logs a failed Conv node at the user.
                // What is committed is durable and the folder is released; nothing else needs the process.
                stop.ExitNow();
            }
        }
    }

    /// <summary>What a stopped run kept, from the durable journal: the committed partitions survive and the same command resumes.</summary>
    private static string StopReport(string output)
    {
        var paths = new JobPaths(output);
        var plan = PartitionPlanner.TryLoad(paths.PlanDir);
        if (plan is null) return "Stopped before the job was planned; nothing was committed. Run the same command again to start it.";
        var committed = CommitJournal.Read(paths.JournalFile).Where(e => e.Kind == JournalEntry.Committed)
            .Select(e => e.PartitionId).Distinct(StringComparer.Ordinal).Count();
        return string.Create(CultureInfo.InvariantCulture,
            $"Stopped: {committed} of {plan.Partitions.Length} partitions committed and kept in {output}. Run the same command again to resume from them.");
    }

    /// <summary>
    /// SIGINT and SIGTERM on `pipeline run`: the first stops the job in order (nodes stopped within a few seconds, the
    /// output folder released, what is committed printed) and the process exits 130 or 143; a second Ctrl-C, or a stop
    /// that overruns, exits at once. The .NET default (process exit while the cluster's shutdown waits) could hang.
    /// </summary>
    private sealed class StopSignals : IDisposable
    {
        public static readonly TimeSpan OrderlyStop = TimeSpan.FromSeconds(5);
        private static readonly TimeSpan Watchdog = TimeSpan.FromSeconds(10);
        private readonly CancellationTokenSource _stop = new();
        private readonly PosixSignalRegistration[] _registrations;
        private readonly Func<string> _report;
        private int _reported;

        public StopSignals(Func<string> report)
        {
            _report = report;
            _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
        }

        public CancellationToken Token => _stop.Token;
        public PosixSignal? Signal { get; private set; }
        public int ExitCode => Signal == PosixSignal.SIGTERM ? 143 : 130;
        public Action? OnHardExit { get; set; }

        private void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // no default termination: this class ends the process
            if (Signal is not null)
            {
                if (context.Signal == PosixSignal.SIGINT) ExitNow();
                return;
            }
            Signal = context.Signal;
            Console.Error.WriteLine($"{(context.Signal == PosixSignal.SIGINT ? "Ctrl-C" : "SIGTERM")}: stopping the job (press Ctrl-C again to exit at once)");
            _stop.Cancel();
            _ = Task.Delay(Watchdog).ContinueWith(_ => ExitNow(), TaskScheduler.Default);
        }

        /// <summary>Prints what is committed, once.</summary>
        public void ReportOnce()
        {
            if (Interlocked.Exchange(ref _reported, 1) != 0) return;
            try { Console.Out.WriteLine(_report()); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or System.Text.Json.JsonException)
            {
                Console.Out.WriteLine($"Stopped ({e.Message}). Run the same command again to resume from the committed partitions.");
            }
            Console.Out.Flush();
        }

        /// <summary>Ends the process now, with no further shutdown: what is committed is already durable.</summary>
        public void ExitNow()
        {
            try { OnHardExit?.Invoke(); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            ReportOnce();
            Console.Error.Flush();
            if (OperatingSystem.IsWindows()) Environment.Exit(ExitCode);
            ExitImmediately(ExitCode);
        }

        public void Dispose()
        {
            foreach (var registration in _registrations) registration.Dispose();
            _stop.Dispose();
        }

        [DllImport("libc", EntryPoint = "_exit")]
        private static extern void ExitImmediately(int status);
    }

    /// <summary>Which side was the bottleneck: the model (decode threads waited) or decoding (the model sat idle).</summary>
    public static void PrintEmbedding(EmbedderStats s)
    {
        var inv = CultureInfo.InvariantCulture;
        var wall = Math.Max(1e-9, s.Wall.TotalSeconds);
        AnsiConsole.WriteLine(string.Format(inv,
            "embedding on {0} ({1}): {2:N0} images in {3:N0} batches of up to {4} ({5:N0} full); model busy {6:P0} of {7:F1} s, " +
            "idle waiting for decoded images {8:P0}; decode threads waited {9:F1} s in all for the model{10}",
            s.Device, s.Precision, s.Images, s.Batches, s.BatchSize, s.FullBatches, s.ModelBusy.TotalSeconds / wall, wall,
            1 - s.ModelBusy.TotalSeconds / wall, s.DecodeWaitedForModel.TotalSeconds,
            s.FallbackReason is null ? "" : $" (fell back: {s.FallbackReason})"));
    }

    /// <summary>How often the job's status is asked for: the end of a job is seen within this (the view repaints less often).</summary>
    public static readonly TimeSpan StatusPoll = TimeSpan.FromMilliseconds(100);

    public static async Task<JobStatus> WatchAsync(IActorRef proxy, CancellationToken cancellation)
    {
        var view = new StatusView();
        var unanswered = 0;
        while (true)
        {
            JobStatus status;
            try
            {
                status = await proxy.Ask<JobStatus>(GetJobStatus.Instance, TimeSpan.FromSeconds(10), cancellation);
                unanswered = 0;
            }
            catch (AskTimeoutException) when (++unanswered < 30)
            {
                // the singleton is moving to another node or restarting: its proxy buffers, so keep asking
                continue;
            }
            view.Update(status);
            if (status.IsFinished)
            {
                view.Finish();
                return status;
            }
            await Task.Delay(StatusPoll, cancellation);
        }
    }

    public static void PrintSummary(JobStatus s)
    {
        var inv = CultureInfo.InvariantCulture;
        if (s.State != JobStates.Succeeded)
        {
            AnsiConsole.MarkupLine($"[red]Job {s.JobId} {s.State}[/]: {Markup.Escape(s.Error ?? "")}");
            AnsiConsole.MarkupLine("The dataset folder has no _SUCCESS; rerun the same command to resume from the committed partitions.");
            return;
        }
        var table = new Table().HideHeaders().AddColumn("").AddColumn("");
        table.AddRow("job", s.JobId ?? "");
        table.AddRow("images", s.Images.ToString("N0", inv));
        table.AddRow("rows", s.Rows.ToString("N0", inv));
        table.AddRow("quarantined", s.Quarantined.ToString("N0", inv) +
            (s.QuarantineByKind.Count > 0 ? " (" + string.Join(", ", s.QuarantineByKind.Select(k => $"{k.Key} {k.Value}")) + ")" : ""));
        table.AddRow("wall time", StatusView.FormatDuration(s.ElapsedSeconds));
        table.AddRow("throughput", (s.ElapsedSeconds > 0 ? s.Images / s.ElapsedSeconds : 0).ToString("N0", inv) + " images/s");
        table.AddRow("dataset", Markup.Escape(s.Dataset ?? ""));
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"Read it with DuckDB: [grey]SELECT split, supercategory, count(*) FROM read_parquet('{Markup.Escape(s.Dataset ?? "")}/images/**/*.parquet', hive_partitioning=true) GROUP BY ALL;[/]");
    }
}
