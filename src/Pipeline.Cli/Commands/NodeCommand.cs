using System.ComponentModel;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Cluster.Hosting;
using Pipeline.Cluster.Protocol;
using Pipeline.Jobs;
using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>`pipeline node`: one long-running cluster node; SIGTERM leaves the cluster through CoordinatedShutdown.</summary>
public sealed class NodeCommand : AsyncCommand<NodeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--role <ROLE>")]
        [Description("coordinator, worker, or both (coordinator,worker)")]
        public string Role { get; init; } = "";

        [CommandOption("--gpu")]
        [Description("This worker embeds on the GPU (adds the gpu role)")]
        public bool Gpu { get; init; }

        [CommandOption("--config <FILE>")]
        [Description("HOCON file layered over cluster-config/ (seed nodes, ports, leases)")]
        public string[] Config { get; init; } = [];

        [CommandOption("--hostname <HOST>")]
        [Description("Address to bind remoting to. Default: from configuration (0.0.0.0)")]
        public string? Hostname { get; init; }

        [CommandOption("--public-hostname <HOST>")]
        [Description("Address other nodes reach this one at")]
        public string? PublicHostname { get; init; }

        [CommandOption("--port <PORT>")]
        [Description("Remoting port. Default: from configuration (4053)")]
        public int? Port { get; init; }

        [CommandOption("--seed <ADDRESS>")]
        [Description("Seed node, e.g. akka.tcp://pipeline@10.0.0.5:4053 (repeatable). Default: from configuration")]
        public string[] Seeds { get; init; } = [];

        [CommandOption("--local")]
        [Description("Layer local.conf (loopback defaults, short failure detection)")]
        public bool Local { get; init; }

        [CommandOption("--threads <N>")]
        [Description("Cores for decoding on this worker. Default: all")]
        public int? Threads { get; init; }

        [CommandOption("--name <NAME>")]
        [Description("Worker name in status and errors. Default: host:port")]
        public string? Name { get; init; }

        [CommandOption("--job <FILE>")]
        [Description("One-shot coordinator: run this job file, exit 0 when the dataset is merged, 1 if the job fails")]
        public string? Job { get; init; }

        [CommandOption("--api <URL>")]
        [Description("Coordinators: serve the HTTP API and dashboard here, e.g. http://0.0.0.0:8080 (or PIPELINE_API_URLS)")]
        public string? Api { get; init; }

        [CommandOption("--verbose")]
        public bool Verbose { get; init; }

        public override Spectre.Console.ValidationResult Validate()
        {
            var roles = Role.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (roles.Length == 0 || roles.Any(r => r is not ("coordinator" or "worker")))
                return Spectre.Console.ValidationResult.Error("--role must be coordinator, worker or coordinator,worker");
            if (Job is not null && !roles.Contains("coordinator"))
                return Spectre.Console.ValidationResult.Error("--job needs the coordinator role");
            return Spectre.Console.ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var roles = settings.Role.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        JobSpec? job = settings.Job is null ? null : JobSpec.FromJson(await File.ReadAllTextAsync(settings.Job, cancellation), settings.Job);
        var options = new NodeOptions
        {
            Coordinator = roles.Contains("coordinator"),
            Worker = roles.Contains("worker"),
            Gpu = settings.Gpu,
            Hostname = settings.Hostname,
            PublicHostname = settings.PublicHostname,
            Port = settings.Port,
            SeedNodes = settings.Seeds,
            ConfigFiles = settings.Config,
            Local = settings.Local,
            WorkerName = settings.Name,
            MinimumLogLevel = settings.Verbose ? LogLevel.Debug : LogLevel.Information,
            Api = settings.Api ?? Environment.GetEnvironmentVariable("PIPELINE_API_URLS"),
        };
        using var host = PipelineNode.Build(options, JobServices.Create(settings.Threads ?? Environment.ProcessorCount));
        await host.StartAsync(cancellation);
        var system = host.Services.GetRequiredService<ActorSystem>();
        Console.WriteLine($"node {Akka.Cluster.Cluster.Get(system).SelfAddress} up with roles [{string.Join(",", options.Roles)}]");
        if (job is null)
        {
            await host.WaitForShutdownAsync(cancellation);
            return 0;
        }
        var proxy = host.Services.GetRequiredService<ActorRegistry>().Get<JobManagerProxy>();
        var reply = await proxy.Ask<object>(new SubmitJob(job), TimeSpan.FromMinutes(10), cancellation);
        if (reply is JobRejected rejected)
        {
            Console.Error.WriteLine($"pipeline: job rejected: {rejected.Reason}");
            await host.StopAsync(CancellationToken.None);
            return 1;
        }
        var jobId = ((JobAccepted)reply).JobId;
        Console.WriteLine($"job {jobId} submitted from {settings.Job}");
        // a node downed by the split-brain resolver stops its actor system: end the watch then, not after minutes of asking
        var nodeGone = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        _ = system.WhenTerminated.ContinueWith(_ => nodeGone.Cancel(), TaskScheduler.Default);
        JobStatus status;
        try
        {
            status = await RunCommand.WatchAsync(proxy, nodeGone.Token);
        }
        catch (Exception) when (system.WhenTerminated.IsCompleted && !cancellation.IsCancellationRequested)
        {
            Console.Error.WriteLine($"pipeline: this node left the cluster before job {jobId} finished (downed by the split-brain " +
                                    "resolver or shut down); the dataset has no _SUCCESS: rerun the same command to resume from the committed partitions");
            return 1;
        }
        RunCommand.PrintSummary(status);
        await host.StopAsync(CancellationToken.None);
        return status.State == JobStates.Succeeded ? 0 : 1;
    }
}
