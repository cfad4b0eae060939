using Akka;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Cluster.Api;
using Pipeline.Cluster.Configuration;
using Pipeline.Cluster.Coordinator;
using Pipeline.Cluster.Protocol;
using Pipeline.Cluster.Remoting;
using Pipeline.Cluster.Worker;
using Pipeline.Processing;

namespace Pipeline.Cluster.Hosting;

/// <summary>Registry key of this node's worker actor.</summary>
public sealed class WorkerActor;

/// <summary>How one node starts: roles, address, seeds and configuration files. Command-line options win over HOCON.</summary>
public sealed record NodeOptions
{
    public const string SystemName = "pipeline";
    public bool Coordinator { get; init; }
    public bool Worker { get; init; }
    public bool Gpu { get; init; }
    public string? Hostname { get; init; }
    public string? PublicHostname { get; init; }
    public int? Port { get; init; }
    /// <summary>Seed node addresses (akka.tcp://pipeline@host:port). Empty with no configured seeds: the node joins itself.</summary>
    public string[] SeedNodes { get; init; } = [];
    /// <summary>Extra HOCON files layered over the built-in ones (later wins).</summary>
    public string[] ConfigFiles { get; init; } = [];
    /// <summary>Single-machine defaults (local.conf: loopback, random port).</summary>
    public bool Local { get; init; }
    /// <summary>HOCON layered over cluster-config/ but under the --config files and the environment (`pipeline run`:
    /// the timings of a cluster that lives in one process and ends with its job).</summary>
    public string? DefaultsHocon { get; init; }
    /// <summary>Raw HOCON layered last (tests: serialize-messages, short timeouts).</summary>
    public string? ExtraHocon { get; init; }
    public string? WorkerName { get; init; }
    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Warning;
    /// <summary>Coordinators: serve the HTTP API and dashboard at these URLs (null: no API).</summary>
    public string? Api { get; init; }
    /// <summary>Nodes without the API: serve /healthz and /readyz (ready = an Up member) at these URLs (null: none).</summary>
    public string? Health { get; init; }
    /// <summary>Open the cluster port beyond loopback without TLS (said loudly at start and in /healthz).</summary>
    public bool Insecure { get; init; }

    public string[] Roles
    {
        get
        {
            var roles = new List<string>();
            if (Coordinator) roles.Add("coordinator");
            if (Worker) roles.Add("worker");
            if (Gpu) roles.Add("gpu");
            return roles.ToArray();
        }
    }
}

/// <summary>Builds a Pipeline cluster node as a .NET generic host with Akka.Hosting.</summary>
public static class PipelineNode
{
    public static string ConfigDirectory =>
        NodeEnvironment.Read(NodeEnvironment.ConfigDirectory) ?? Path.Combine(AppContext.BaseDirectory, "cluster-config");

    /// <summary>The layered HOCON of a node: base, role files, local or user files, then the extra text.</summary>
    public static Config LoadConfig(NodeOptions options)
    {
        var files = new List<string> { "base.conf" };
        if (options.Coordinator) files.Add("coordinator.conf");
        if (options.Worker) files.Add("worker.conf");
        if (options.Local) files.Add("local.conf");
        Config config = ConfigurationFactory.Empty;
        foreach (var name in files)
        {
            var path = Path.Combine(ConfigDirectory, name);
            if (!File.Exists(path)) throw new FileNotFoundException($"cluster configuration {path} is missing (set PIPELINE_CONFIG_DIR)", path);
            config = ConfigurationFactory.ParseString(File.ReadAllText(path)).WithFallback(config);
        }
        if (!string.IsNullOrWhiteSpace(options.DefaultsHocon))
            config = ConfigurationFactory.ParseString(options.DefaultsHocon).WithFallback(config);
        foreach (var path in options.ConfigFiles)
        {
            if (!File.Exists(path)) throw new FileNotFoundException($"configuration file {path} does not exist", path);
            config = ConfigurationFactory.ParseString(File.ReadAllText(path)).WithFallback(config);
        }
        config = NodeEnvironment.Apply(config);
        if (!string.IsNullOrWhiteSpace(options.ExtraHocon))
            config = ConfigurationFactory.ParseString(options.ExtraHocon).WithFallback(config);
        return config;
    }

    /// <summary>Cores the node decodes on: <paramref name="commandLine"/> (<c>--threads</c>), else <c>pipeline.worker.threads</c>
    /// (or PIPELINE_WORKER_THREADS), where 0 means every core.</summary>
    public static int DecodeThreads(NodeOptions options, int? commandLine)
    {
        if (commandLine is > 0) return commandLine.Value;
        var configured = LoadConfig(options).GetInt("pipeline.worker.threads", 0);
        return configured > 0 ? configured : Environment.ProcessorCount;
    }

    /// <summary>
    /// The node's layered HOCON (<see cref="LoadConfig"/>) with its failpoints set from the environment: what
    /// <see cref="Build"/> starts from. A command that writes before it builds a node (`pipeline run`'s demo corpus) calls
    /// it first, so a bad setting or variable is refused before anything is written.
    /// </summary>
    /// <exception cref="ConfigurationException">a variable or setting that does not parse; the message names it.</exception>
    /// <exception cref="FileNotFoundException">a configuration file that does not exist.</exception>
    public static Config LoadCheckedConfig(NodeOptions options)
    {
        var config = LoadConfig(options);
        try
        {
            Failpoints.Configure(NodeEnvironment.Read(Failpoints.Variable));
        }
        catch (FormatException e)
        {
            throw new ConfigurationException(e.Message);
        }
        return config;
    }

    public static IHost Build(NodeOptions options, IJobServices services)
    {
        var config = LoadCheckedConfig(options);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(options.MinimumLogLevel);
        builder.Logging.AddConsoleFormatter<EscapingConsoleFormatter, Microsoft.Extensions.Logging.Console.ConsoleFormatterOptions>();
        builder.Logging.AddConsole(o => o.FormatterName = EscapingConsoleFormatter.FormatterName);
        Configure(builder.Services, options, config, services);
        if (options.Coordinator && options.Api is not null) builder.Services.AddPipelineApi(ApiOptions.Load(config, options.Api, insecure: options.Insecure));
        else if (options.Health is not null) builder.Services.AddNodeHealth(options.Health);
        return builder.Build();
    }

    public static void Configure(IServiceCollection serviceCollection, NodeOptions options, Config config, IJobServices services)
    {
        var seeds = options.SeedNodes.Length > 0
            ? options.SeedNodes
            : config.GetStringList("akka.cluster.seed-nodes").ToArray();
        if (seeds.Length == 0 && NodeEnvironment.Read(NodeEnvironment.SeedNodes) is { } envSeeds)
            seeds = NodeEnvironment.SplitList(envSeeds);
        // a coordinator on a fixed port keeps its job history by default; a local one (random port) in memory
        var coordinatorSettings = CoordinatorSettings.FromConfig(config,
            options.Local ? null : options.Port ?? config.GetInt("akka.remote.dot-netty.tcp.port"));
        var roles = options.Roles;

        // closed by default: loopback unless a host is given, and beyond loopback only with TLS or --insecure (NodeEndpoint)
        var tls = RemoteTls.Load(config);
        var endpoint = NodeEndpoints.Resolve(
            options.Hostname ?? NullIfEmpty(config.GetString("akka.remote.dot-netty.tcp.hostname")),
            options.PublicHostname ?? NullIfEmpty(config.GetString("akka.remote.dot-netty.tcp.public-hostname")),
            options.Port ?? config.GetInt("akka.remote.dot-netty.tcp.port"),
            tls is not null, options.Insecure);
        var remote = new RemoteOptions { HostName = endpoint.BindHostname, PublicHostName = endpoint.PublicHostname, Port = endpoint.Port };
        if (tls is not null)
        {
            remote = remote.WithTls(tls);
            endpoint = endpoint with { Certificate = remote.Ssl!.X509Certificate };
        }
        NodeEndpoints.EnsurePortFree(endpoint);
        serviceCollection.AddSingleton(endpoint);
        var rejoin = new NodeRejoin();
        serviceCollection.AddSingleton(rejoin);

        serviceCollection.AddSingleton(services);
        serviceCollection.AddAkka(NodeOptions.SystemName, (akka, _) =>
        {
            akka.AddHocon(config, HoconAddMode.Prepend)
                .ConfigureLoggers(logging =>
                {
                    // Akka's log events go through Microsoft.Extensions.Logging, filtered by the node's level
                    logging.LogLevel = options.MinimumLogLevel switch
                    {
                        LogLevel.Trace or LogLevel.Debug => Akka.Event.LogLevel.DebugLevel,
                        LogLevel.Information => Akka.Event.LogLevel.InfoLevel,
                        LogLevel.Warning => Akka.Event.LogLevel.WarningLevel,
                        _ => Akka.Event.LogLevel.ErrorLevel,
                    };
                    logging.ClearLoggers();
                    logging.AddLoggerFactory();
                })
                .WithRemoting(remote)
                // a closed cluster: mutual TLS when pipeline.tls.* or PIPELINE_TLS_* name a certificate (RemoteTls)
                .WithClustering(new ClusterOptions { Roles = roles, SeedNodes = RemoteTls.SeedAddresses(seeds, remote) })
                .WithPipelineDiscovery(config)
                .WithSingletonProxy<JobManagerProxy>("job-manager", new ClusterSingletonOptions
                {
                    Role = "coordinator",
                    // a node that starts before any coordinator is normal; say so only when it lasts
                    LogSingletonIdentificationFailure = !options.Local,
                });
            if (options.Coordinator)
            {
                akka.WithSingleton<JobManager>("job-manager",
                    Props.Create(() => new JobManager(services, coordinatorSettings)),
                    new ClusterSingletonOptions { Role = "coordinator" }, createProxyToo: false);
            }
            if (options.Worker)
            {
                akka.WithActors((system, registry) =>
                {
                    var proxy = registry.Get<JobManagerProxy>();
                    var address = Akka.Cluster.Cluster.Get(system).SelfAddress;
                    var name = options.WorkerName ?? $"{Environment.MachineName}:{address.Port}";
                    // a GPU embeds faster than one partition's decoding feeds it: keep more partitions going there
                    var inFlight = config.GetInt("pipeline.worker.partitions-in-flight", 1);
                    var prefetch = config.GetInt("pipeline.worker.prefetch", 1);
                    if (options.Gpu)
                    {
                        inFlight = Math.Max(inFlight, config.GetInt("pipeline.worker.gpu-partitions-in-flight", 3));
                        prefetch = Math.Max(prefetch, config.GetInt("pipeline.worker.gpu-prefetch", 2));
                    }
                    var settings = new WorkerSettings(name, roles, Math.Max(1, inFlight), Math.Max(0, prefetch),
                        config.GetTimeSpan("pipeline.worker.heartbeat", TimeSpan.FromSeconds(1)));
                    var worker = system.ActorOf(Props.Create(() => new PartitionWorker(proxy, services, settings))
                        .WithDispatcher("akka.actor.pipeline-dispatcher"), "worker");
                    registry.Register<WorkerActor>(worker);
                    // graceful exit: hand partitions back before the node leaves the cluster
                    CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeClusterShutdown, "hand-back-partitions",
                        async () =>
                        {
                            try { await worker.Ask<Done>(PartitionWorker.Drain.Instance, TimeSpan.FromSeconds(5)); }
                            catch (Exception) { /* the worker is already gone */ }
                            return Done.Instance;
                        });
                });
            }
            if (options.Worker && !options.Coordinator)
            {
                // README's layout seeds workers to the coordinator only: when it is gone for good, rejoin the seeds (CoordinatorWatch)
                var after = config.GetTimeSpan("pipeline.worker.rejoin-without-coordinator", TimeSpan.FromSeconds(30));
                if (after > TimeSpan.Zero)
                    akka.WithActors((system, _) => system.ActorOf(Props.Create(() => new CoordinatorWatch(after, rejoin)), "coordinator-watch"));
            }
            if (seeds.Length == 0 && !KubernetesBootstrap.IsEnabled(config))
            {
                // no seeds anywhere: a single-node cluster that joins itself (`pipeline run`, a lone coordinator)
                akka.WithActors((system, _) => Akka.Cluster.Cluster.Get(system).Join(Akka.Cluster.Cluster.Get(system).SelfAddress));
            }
        });
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
