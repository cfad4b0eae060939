using System.ComponentModel;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Cluster.Coordinator;
using Pipeline.Cluster.Api;
using Pipeline.Cluster.Configuration;
using Pipeline.Cluster.Hosting;
using Pipeline.Cluster.Protocol;
using Pipeline.Cluster.Remoting;
using Pipeline.Jobs;
using Spectre.Console.Cli;
using Pipeline.Processing;

namespace Pipeline.Cli.Commands;

/// <summary>`pipeline node`: one long-running cluster node; SIGTERM leaves the cluster through CoordinatedShutdown.</summary>
public sealed class NodeCommand : AsyncCommand<NodeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--role <ROLE>")]
        [Description("coordinator, worker, or coordinator,worker for one node with both roles")]
        public string Role { get; init; } = "";

        [CommandOption("--gpu")]
        [Description("This worker embeds on the GPU (adds the gpu role)")]
        public bool Gpu { get; init; }

        [CommandOption("--config <FILE>")]
        [Description("HOCON file layered over cluster-config/ (seed nodes, ports, leases)")]
        public string[] Config { get; init; } = [];

        [CommandOption("--hostname <HOST>")]
        [Description("Address to bind the cluster port to. Default: 127.0.0.1 (loopback only); beyond loopback needs TLS (PIPELINE_TLS_CERT, `pipeline tls init`) or --insecure")]
        public string? Hostname { get; init; }

        [CommandOption("--insecure")]
        [Description("Allow a cluster port beyond loopback without TLS: anyone who reaches it can join and run jobs")]
        public bool Insecure { get; init; }

        [CommandOption("--health <URL>")]
        [Description("Workers: serve /healthz and /readyz (ready once an Up member) here, e.g. http://0.0.0.0:8081 (or PIPELINE_HEALTH_URLS)")]
        public string? Health { get; init; }

        [CommandOption("--public-hostname <HOST>")]
        [Description("Address other nodes reach this one at. Default: the --hostname, or this machine's first address when that is 0.0.0.0")]
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
        [Description("Cores for decoding on this worker. Default: pipeline.worker.threads (PIPELINE_WORKER_THREADS), 0 = all")]
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
        [Description("Log at debug level (cluster membership, leases, commits)")]
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
            Api = NodeEnvironment.OptionOr(settings.Api, NodeEnvironment.ApiUrls),
            Health = NodeEnvironment.OptionOr(settings.Health, NodeEnvironment.HealthUrls),
            Insecure = settings.Insecure,
        };
        var services = JobServices.Create(PipelineNode.DecodeThreads(options, settings.Threads));
        while (true)
        {
            var host = await StartAsync(options, services, cancellation);
            if (job is not null)
            {
                using (host) return await RunJobAsync(host, job, settings.Job!, cancellation);
            }
            using (host)
            {
                var rejoin = host.Services.GetRequiredService<NodeRejoin>().Requested;
                var stopped = host.WaitForShutdownAsync(cancellation);
                await Task.WhenAny(stopped, rejoin);
                if (!rejoin.IsCompleted || cancellation.IsCancellationRequested)
                {
                    await stopped;
                    return 0;
                }
                // a worker whose coordinator is gone: a new actor system joins the seeds again (CoordinatorWatch)
                Console.WriteLine($"pipeline: {rejoin.Result}");
                await host.StopAsync(CancellationToken.None);
            }
        }
    }

    private static async Task<IHost> StartAsync(NodeOptions options, IJobServices services, CancellationToken cancellation)
    {
        var host = PipelineNode.Build(options, services);
        await host.StartAsync(cancellation);
        var endpoint = host.Services.GetRequiredService<NodeEndpoint>();
        Console.WriteLine($"node: {endpoint.Describe()}");
        if (endpoint.DescribeCertificate(DateTimeOffset.UtcNow) is { } certificate) Console.WriteLine($"node: {certificate}");
        if (host.Services.GetService<ApiHostedService>() is { } api) Console.WriteLine(api.Describe());
        var system = host.Services.GetRequiredService<ActorSystem>();
        Console.WriteLine($"node {Akka.Cluster.Cluster.Get(system).SelfAddress} up with roles [{string.Join(",", options.Roles)}]");
        return host;
    }

    private static async Task<bool> BecomesMemberAsync(ActorSystem system, TimeSpan timeout, CancellationToken cancellation)
    {
        var up = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Akka.Cluster.Cluster.Get(system).RegisterOnMemberUp(() => up.TrySetResult());
        var done = await Task.WhenAny(up.Task, Task.Delay(timeout, cancellation));
        return done == up.Task;
    }

    private static async Task<int> RunJobAsync(IHost host, JobSpec job, string jobFile, CancellationToken cancellation)
    {
        var system = host.Services.GetRequiredService<ActorSystem>();
        // joining is the authority: a node that is not admitted (no cluster certificate) submits nothing
        var joinTimeout = system.Settings.Config.GetTimeSpan("pipeline.submit.join-timeout", TimeSpan.FromSeconds(60));
        if (!await BecomesMemberAsync(system, joinTimeout, cancellation))
        {
            Console.Error.WriteLine($"pipeline: this node did not become a member of the cluster within {joinTimeout.TotalSeconds:F0} s, so the job " +
                                    "was not submitted: are the seed nodes up, and does this node hold the cluster's TLS certificate " +
                                    "(PIPELINE_TLS_CERT) when the cluster uses one?");
            await host.StopAsync(CancellationToken.None);
            return 1;
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
        Console.WriteLine($"job {jobId} submitted from {jobFile}");
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
