using Akka.Configuration;
using Akka.Discovery.KubernetesApi;
using Akka.Hosting;
using Akka.Management;
using Akka.Management.Cluster.Bootstrap;

namespace Pipeline.Cluster.Hosting;

/// <summary>
/// How a node finds the rest of the cluster, from <c>pipeline.discovery</c> (cluster-config/kubernetes.conf):
/// <c>config</c> uses the seed nodes of the configuration; <c>kubernetes</c> forms the cluster through Akka.Management
/// cluster bootstrap, finding contact points by listing this namespace's pods through the Kubernetes API.
/// </summary>
public sealed record ClusterDiscoverySettings
{
    public const string SeedNodesMethod = "config";
    public const string KubernetesMethod = "kubernetes";
    /// <summary>Environment variables over <c>pipeline.discovery</c>: method, pod-namespace, required-contact-points.</summary>
    public const string MethodVariable = "PIPELINE_DISCOVERY";
    public const string NamespaceVariable = "PIPELINE_POD_NAMESPACE";
    public const string ContactPointsVariable = "PIPELINE_REQUIRED_CONTACT_POINTS";

    public string Method { get; init; } = SeedNodesMethod;
    /// <summary>Name put into <see cref="PodLabelSelector"/>'s <c>{0}</c>.</summary>
    public string ServiceName { get; init; } = NodeOptions.SystemName;
    /// <summary>Pods whose labels match are contact points; <c>{0}</c> is <see cref="ServiceName"/>.</summary>
    public string PodLabelSelector { get; init; } = "akka-cluster={0}";
    /// <summary>Empty: the namespace of the pod's service account.</summary>
    public string PodNamespace { get; init; } = "";
    /// <summary>Name of the container port that carries Akka.Management HTTP on every cluster pod.</summary>
    public string ManagementPortName { get; init; } = "management";
    public int ManagementPort { get; init; } = 8558;
    /// <summary>Empty: the remoting public hostname (the pod IP on Kubernetes).</summary>
    public string ManagementHostname { get; init; } = "";
    public string ManagementBindHostname { get; init; } = "0.0.0.0";
    /// <summary>Contact points that must be seen before the lowest-addressed one forms a new cluster.</summary>
    public int RequiredContactPoints { get; init; } = 2;
    /// <summary>How long the discovered set must stay unchanged before a join decision.</summary>
    public TimeSpan StableMargin { get; init; } = TimeSpan.FromSeconds(5);
    public bool NewClusterEnabled { get; init; } = true;

    public bool UsesKubernetes => Method == KubernetesMethod;

    /// <summary>Reads <c>pipeline.discovery</c>, then lets <see cref="MethodVariable"/>, <see cref="NamespaceVariable"/> and
    /// <see cref="ContactPointsVariable"/> override it (read here: Akka.NET's HOCON does not substitute environment variables).</summary>
    /// <exception cref="ConfigurationException">an unknown method or an impossible value, named in the message</exception>
    public static ClusterDiscoverySettings FromConfig(Config config, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var defaults = new ClusterDiscoverySettings();
        var section = config.GetConfig("pipeline.discovery") ?? ConfigurationFactory.Empty;
        var method = (Override(environment, MethodVariable) ?? section.GetString("method", SeedNodesMethod)).Trim().ToLowerInvariant();
        if (method is not (SeedNodesMethod or KubernetesMethod))
            throw new ConfigurationException(
                $"pipeline.discovery.method (or {MethodVariable}) must be '{SeedNodesMethod}' or '{KubernetesMethod}', not '{method}'");
        var contactPoints = section.GetInt("required-contact-points", defaults.RequiredContactPoints);
        if (Override(environment, ContactPointsVariable) is { } contactPointsText && !int.TryParse(contactPointsText, out contactPoints))
            throw new ConfigurationException($"{ContactPointsVariable} must be a whole number, not '{contactPointsText}'");
        var settings = new ClusterDiscoverySettings
        {
            Method = method,
            ServiceName = section.GetString("service-name", defaults.ServiceName),
            PodLabelSelector = section.GetString("pod-label-selector", defaults.PodLabelSelector),
            PodNamespace = Override(environment, NamespaceVariable) ?? section.GetString("pod-namespace", defaults.PodNamespace),
            ManagementPortName = section.GetString("management.port-name", defaults.ManagementPortName),
            ManagementPort = section.GetInt("management.port", defaults.ManagementPort),
            ManagementHostname = section.GetString("management.hostname", defaults.ManagementHostname),
            ManagementBindHostname = section.GetString("management.bind-hostname", defaults.ManagementBindHostname),
            RequiredContactPoints = contactPoints,
            StableMargin = section.GetTimeSpan("stable-margin", defaults.StableMargin),
            NewClusterEnabled = section.GetBoolean("new-cluster-enabled", defaults.NewClusterEnabled),
        };
        if (settings.ManagementPort is < 1 or > 65535)
            throw new ConfigurationException($"pipeline.discovery.management.port must be 1..65535, not {settings.ManagementPort}");
        if (settings.RequiredContactPoints < 1)
            throw new ConfigurationException($"pipeline.discovery.required-contact-points must be at least 1, not {settings.RequiredContactPoints}");
        if (string.IsNullOrWhiteSpace(settings.ServiceName))
            throw new ConfigurationException("pipeline.discovery.service-name must not be empty");
        if (!settings.PodLabelSelector.Contains('='))
            throw new ConfigurationException($"pipeline.discovery.pod-label-selector must be a label selector such as akka-cluster={{0}}, not '{settings.PodLabelSelector}'");
        return settings;
    }

    private static string? Override(Func<string, string?> environment, string name) =>
        environment(name) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
}

/// <summary>Cluster formation on Kubernetes: Akka.Management, cluster bootstrap and Kubernetes API pod discovery.</summary>
public static class KubernetesBootstrap
{
    /// <summary>True when nodes form the cluster through bootstrap: the node must then neither use seed nodes nor join itself.</summary>
    public static bool IsEnabled(Config config) => ClusterDiscoverySettings.FromConfig(config).UsesKubernetes;

    /// <summary>Adds cluster bootstrap over Kubernetes pod discovery when <c>pipeline.discovery.method = kubernetes</c>
    /// (or <c>PIPELINE_DISCOVERY=kubernetes</c>); leaves the builder untouched otherwise.</summary>
    public static AkkaConfigurationBuilder WithPipelineDiscovery(this AkkaConfigurationBuilder builder, Config config) =>
        builder.WithPipelineDiscovery(ClusterDiscoverySettings.FromConfig(config));

    public static AkkaConfigurationBuilder WithPipelineDiscovery(this AkkaConfigurationBuilder builder, ClusterDiscoverySettings settings)
    {
        if (!settings.UsesKubernetes) return builder;
        var management = new AkkaManagementOptions
        {
            Port = settings.ManagementPort,
            BindHostName = settings.ManagementBindHostname,
            BindPort = settings.ManagementPort,
        };
        // left unset, Akka.Management advertises the remoting public hostname, which is the pod IP that discovery returns
        if (settings.ManagementHostname.Length > 0) management.HostName = settings.ManagementHostname;
        var bootstrap = new ClusterBootstrapOptions
        {
            NewClusterEnabled = settings.NewClusterEnabled,
            ContactPointDiscovery =
            {
                ServiceName = settings.ServiceName,
                PortName = settings.ManagementPortName,
                RequiredContactPointsNr = settings.RequiredContactPoints,
                StableMargin = settings.StableMargin,
                ContactWithAllContactPoints = true,
            },
        };
        var discovery = new KubernetesDiscoveryOptions { PodLabelSelector = settings.PodLabelSelector };
        if (settings.PodNamespace.Length > 0) discovery.PodNamespace = settings.PodNamespace;
        return builder
            .WithAkkaManagement(management, autoStart: true)
            .WithClusterBootstrap(bootstrap, autoStart: true)
            .WithKubernetesDiscovery(discovery);
    }
}
