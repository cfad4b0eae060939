using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Event;
using Akka.Hosting;
using Pipeline.Cluster.Configuration;

namespace Pipeline.Cluster.Hosting;

/// <summary>
/// How a node finds the rest of the cluster, from <c>pipeline.discovery</c> (cluster-config/kubernetes.conf):
/// <c>config</c> uses the seed nodes of the configuration; <c>kubernetes</c> lists this namespace's pods through the
/// Kubernetes API and joins them as seed nodes once enough pods are seen and the list is stable.
/// </summary>
public sealed record ClusterDiscoverySettings
{
    public const string SeedNodesMethod = "config";
    public const string KubernetesMethod = "kubernetes";
    /// <summary>Environment variables over <c>pipeline.discovery</c>: method, pod-namespace, required-contact-points.</summary>
    public const string MethodVariable = NodeEnvironment.Discovery;
    public const string NamespaceVariable = NodeEnvironment.PodNamespace;
    public const string ContactPointsVariable = NodeEnvironment.RequiredContactPoints;

    public string Method { get; init; } = SeedNodesMethod;
    /// <summary>Name put into <see cref="PodLabelSelector"/>'s <c>{0}</c>.</summary>
    public string ServiceName { get; init; } = NodeOptions.SystemName;
    /// <summary>Pods whose labels match are cluster nodes; <c>{0}</c> is <see cref="ServiceName"/>.</summary>
    public string PodLabelSelector { get; init; } = "akka-cluster={0}";
    /// <summary>Empty: the namespace of the pod's service account.</summary>
    public string PodNamespace { get; init; } = "";
    /// <summary>Name of the container port that carries Akka remoting on every cluster pod.</summary>
    public string RemotingPortName { get; init; } = "remoting";
    /// <summary>Pods that must be seen before joining, so the first pods up do not each found a cluster of their own.</summary>
    public int RequiredContactPoints { get; init; } = 2;
    /// <summary>How long the discovered set must stay unchanged before this node joins.</summary>
    public TimeSpan StableMargin { get; init; } = TimeSpan.FromSeconds(5);
    public TimeSpan LookupInterval { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan ResolveTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>A node whose seeds never answer shuts down after this long (its pod restarts and looks again); 0 waits forever.</summary>
    public TimeSpan JoinTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>What every pod has from its ServiceAccount and the kubelet: API address variables, token, CA, namespace.</summary>
    public string ApiHostVariable { get; init; } = "KUBERNETES_SERVICE_HOST";
    public string ApiPortVariable { get; init; } = "KUBERNETES_SERVICE_PORT";
    public string TokenPath { get; init; } = "/var/run/secrets/kubernetes.io/serviceaccount/token";
    public string CaPath { get; init; } = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
    public string NamespacePath { get; init; } = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

    public bool UsesKubernetes => Method == KubernetesMethod;

    /// <summary>The label selector sent to the Kubernetes API.</summary>
    public string EffectiveLabelSelector => string.Format(PodLabelSelector, ServiceName);

    /// <summary>Reads <c>pipeline.discovery</c> with <see cref="MethodVariable"/>, <see cref="NamespaceVariable"/> and
    /// <see cref="ContactPointsVariable"/> over it (<see cref="NodeEnvironment"/>).</summary>
    /// <exception cref="ConfigurationException">an unknown method or an impossible value, named in the message</exception>
    public static ClusterDiscoverySettings FromConfig(Config config, Func<string, string?>? environment = null)
    {
        config = NodeEnvironment.Apply(config, environment);
        var defaults = new ClusterDiscoverySettings();
        var section = config.GetConfig("pipeline.discovery") ?? ConfigurationFactory.Empty;
        var method = section.GetString("method", SeedNodesMethod).Trim().ToLowerInvariant();
        if (method is not (SeedNodesMethod or KubernetesMethod))
            throw new ConfigurationException(
                $"pipeline.discovery.method (or {MethodVariable}) must be '{SeedNodesMethod}' or '{KubernetesMethod}', not '{method}'");
        var contactPoints = section.GetInt("required-contact-points", defaults.RequiredContactPoints);
        var settings = new ClusterDiscoverySettings
        {
            Method = method,
            ServiceName = section.GetString("service-name", defaults.ServiceName),
            PodLabelSelector = section.GetString("pod-label-selector", defaults.PodLabelSelector),
            PodNamespace = section.GetString("pod-namespace", defaults.PodNamespace).Trim(),
            RemotingPortName = section.GetString("remoting-port-name", defaults.RemotingPortName),
            RequiredContactPoints = contactPoints,
            StableMargin = section.GetTimeSpan("stable-margin", defaults.StableMargin),
            LookupInterval = section.GetTimeSpan("lookup-interval", defaults.LookupInterval),
            ResolveTimeout = section.GetTimeSpan("resolve-timeout", defaults.ResolveTimeout),
            JoinTimeout = section.GetTimeSpan("join-timeout", defaults.JoinTimeout),
            ApiHostVariable = section.GetString("api.host-variable", defaults.ApiHostVariable),
            ApiPortVariable = section.GetString("api.port-variable", defaults.ApiPortVariable),
            TokenPath = section.GetString("api.token-path", defaults.TokenPath),
            CaPath = section.GetString("api.ca-path", defaults.CaPath),
            NamespacePath = section.GetString("api.namespace-path", defaults.NamespacePath),
        };
        if (settings.RequiredContactPoints < 1)
            throw new ConfigurationException($"pipeline.discovery.required-contact-points must be at least 1, not {settings.RequiredContactPoints}");
        if (string.IsNullOrWhiteSpace(settings.ServiceName))
            throw new ConfigurationException("pipeline.discovery.service-name must not be empty");
        if (!settings.PodLabelSelector.Contains('='))
            throw new ConfigurationException($"pipeline.discovery.pod-label-selector must be a label selector such as akka-cluster={{0}}, not '{settings.PodLabelSelector}'");
        if (settings.LookupInterval <= TimeSpan.Zero || settings.ResolveTimeout <= TimeSpan.Zero)
            throw new ConfigurationException("pipeline.discovery.lookup-interval and resolve-timeout must be positive");
        return settings;
    }
}

/// <summary>
/// Cluster formation on Kubernetes: pods listed by the Kubernetes API become the seed nodes, lowest address first.
/// Akka's seed-node protocol then joins an existing cluster when any seed answers, and lets only the first seed found
/// a new one. Neither Akka.Management's HTTP bootstrap nor Akka.Discovery.KubernetesApi runs with the packages this
/// build restores (Akka.Http.Shim 1.5.73 wants Ceen.Httpd 0.9.9 and gets 0.9.10; the discovery plugin wants
/// KubernetesClient 17 and gets 19: both fail with MissingMethodException), so the pod list is read here directly.
/// </summary>
public static class KubernetesBootstrap
{
    /// <summary>True when nodes form the cluster through pod discovery: the node must then neither use seed nodes nor join itself.</summary>
    public static bool IsEnabled(Config config) => ClusterDiscoverySettings.FromConfig(config).UsesKubernetes;

    /// <summary>Adds Kubernetes pod discovery and the join that follows it when <c>pipeline.discovery.method = kubernetes</c>
    /// (or <c>PIPELINE_DISCOVERY=kubernetes</c>); leaves the builder untouched otherwise.</summary>
    public static AkkaConfigurationBuilder WithPipelineDiscovery(this AkkaConfigurationBuilder builder, Config config) =>
        builder.WithPipelineDiscovery(ClusterDiscoverySettings.FromConfig(config));

    public static AkkaConfigurationBuilder WithPipelineDiscovery(this AkkaConfigurationBuilder builder, ClusterDiscoverySettings settings)
    {
        if (!settings.UsesKubernetes) return builder;
        var joinTimeout = settings.JoinTimeout > TimeSpan.Zero ? $"{(long)settings.JoinTimeout.TotalMilliseconds}ms" : "off";
        return builder
            .AddHocon($"akka.cluster.shutdown-after-unsuccessful-join-seed-nodes = {joinTimeout}", HoconAddMode.Prepend)
            .AddStartup((system, _) => PodSeedNodes.Start(system, settings));
    }
}

/// <summary>A cluster pod as the Kubernetes API lists it: its IP and the container port named for remoting.</summary>
public readonly record struct ClusterPod(string Name, IPAddress Ip, int Port);

/// <summary>Lists the running pods that match the label selector, with the pod's ServiceAccount token and the cluster CA.</summary>
public sealed class KubernetesPodLister : IDisposable
{
    private readonly ClusterDiscoverySettings _settings;
    private readonly HttpClient _http;
    private readonly string _namespace;
    private readonly Uri _pods;

    /// <exception cref="InvalidOperationException">not in a pod: the API address variables or service account files are missing</exception>
    public KubernetesPodLister(ClusterDiscoverySettings settings, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        _settings = settings;
        var host = environment(settings.ApiHostVariable);
        var port = environment(settings.ApiPortVariable);
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port))
            throw new InvalidOperationException($"{settings.ApiHostVariable} and {settings.ApiPortVariable} are not set: pod discovery only works inside a Kubernetes pod");
        _namespace = settings.PodNamespace.Length > 0 ? settings.PodNamespace
            : File.Exists(settings.NamespacePath) ? File.ReadAllText(settings.NamespacePath).Trim()
            : throw new InvalidOperationException($"no pod namespace: set pipeline.discovery.pod-namespace or mount the service account ({settings.NamespacePath})");
        // an IPv6 API address needs brackets in a URI
        var authority = IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]:{port}" : $"{host}:{port}";
        _pods = new Uri($"https://{authority}/api/v1/namespaces/{Uri.EscapeDataString(_namespace)}/pods?labelSelector={Uri.EscapeDataString(settings.EffectiveLabelSelector)}");
        var trusted = new X509Certificate2Collection();
        trusted.ImportFromPemFile(settings.CaPath);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                // the API server's certificate chains to the cluster CA, not to a public root
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => TrustedByClusterCa(certificate, errors, trusted),
            },
        };
        _http = new HttpClient(handler) { Timeout = settings.ResolveTimeout };
    }

    public string Namespace => _namespace;

    private static bool TrustedByClusterCa(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection trusted)
    {
        if (errors == SslPolicyErrors.None) return true;
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    /// <exception cref="HttpRequestException">the API refused or failed the request; the status and reason are in the message</exception>
    public async Task<IReadOnlyList<ClusterPod>> ListAsync(CancellationToken cancellation)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _pods);
        // projected service account tokens rotate: read the file for every request
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(_settings.TokenPath, cancellation)).Trim());
        using var response = await _http.SendAsync(request, cancellation);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellation);
            var hint = response.StatusCode == HttpStatusCode.Forbidden ? " (does the pod's ServiceAccount have a Role with pods get/watch/list?)" : "";
            throw new HttpRequestException($"listing pods in {_namespace} answered {(int)response.StatusCode} {response.ReasonPhrase}{hint}: {Truncate(body)}");
        }
        await using var stream = await response.Content.ReadAsStreamAsync(cancellation);
        using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellation);
        return Parse(document.RootElement, _settings.RemotingPortName);
    }

    /// <summary>Running, not terminating pods with an IP and a container port named <paramref name="portName"/>.</summary>
    public static IReadOnlyList<ClusterPod> Parse(JsonElement podList, string portName)
    {
        var pods = new List<ClusterPod>();
        if (!podList.TryGetProperty("items", out var items) || items.ValueKind != JsonValueKind.Array) return pods;
        foreach (var pod in items.EnumerateArray())
        {
            var metadata = pod.GetProperty("metadata");
            if (metadata.TryGetProperty("deletionTimestamp", out var deleting) && deleting.ValueKind != JsonValueKind.Null) continue;
            if (!pod.TryGetProperty("status", out var status)) continue;
            if (!status.TryGetProperty("phase", out var phase) || phase.GetString() != "Running") continue;
            if (!status.TryGetProperty("podIP", out var podIp) || !IPAddress.TryParse(podIp.GetString(), out var ip)) continue;
            int? port = null;
            foreach (var container in pod.GetProperty("spec").GetProperty("containers").EnumerateArray())
            {
                if (!container.TryGetProperty("ports", out var ports)) continue;
                foreach (var candidate in ports.EnumerateArray())
                {
                    if (candidate.TryGetProperty("name", out var name) && name.GetString() == portName)
                    {
                        port = candidate.GetProperty("containerPort").GetInt32();
                        break;
                    }
                }
                if (port is not null) break;
            }
            if (port is { } remoting) pods.Add(new ClusterPod(metadata.GetProperty("name").GetString() ?? "", ip, remoting));
        }
        return pods;
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "...";

    public void Dispose() => _http.Dispose();
}

/// <summary>Polls the pod list until enough pods are listed and the list is stable, then joins them as seed nodes.</summary>
public static class PodSeedNodes
{
    /// <summary>Remoting addresses of the pods, lowest IP then port first: every node computes the same order.</summary>
    public static IReadOnlyList<Address> SeedAddresses(IEnumerable<ClusterPod> pods, string systemName, string protocol = "akka.tcp")
    {
        var sorted = new List<ClusterPod>(pods);
        sorted.Sort(static (a, b) =>
        {
            var byIp = CompareIp(a.Ip, b.Ip);
            return byIp != 0 ? byIp : a.Port.CompareTo(b.Port);
        });
        var seeds = new List<Address>(sorted.Count);
        foreach (var pod in sorted)
        {
            // the node's own scheme: akka.ssl.tcp when the cluster speaks TLS (RemoteTls)
            var address = new Address(protocol, systemName, pod.Ip.ToString(), pod.Port);
            if (!seeds.Contains(address)) seeds.Add(address);
        }
        return seeds;
    }

    private static int CompareIp(IPAddress a, IPAddress b)
    {
        var x = a.GetAddressBytes();
        var y = b.GetAddressBytes();
        if (x.Length != y.Length) return x.Length.CompareTo(y.Length);
        for (var i = 0; i < x.Length; i++)
            if (x[i] != y[i]) return x[i].CompareTo(y[i]);
        return 0;
    }

    /// <summary>Starts the discovery loop on a background task; it ends when the node joins or the system terminates.</summary>
    public static void Start(ActorSystem system, ClusterDiscoverySettings settings)
    {
        var stop = new CancellationTokenSource();
        system.RegisterOnTermination(stop.Cancel);
        _ = Task.Run(() => DiscoverAndJoinAsync(system, settings, stop.Token));
    }

    private static async Task DiscoverAndJoinAsync(ActorSystem system, ClusterDiscoverySettings settings, CancellationToken stop)
    {
        var log = Logging.GetLogger(system, typeof(PodSeedNodes));
        var cluster = Akka.Cluster.Cluster.Get(system);
        KubernetesPodLister lister;
        try
        {
            lister = new KubernetesPodLister(settings);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or System.Security.Cryptography.CryptographicException)
        {
            // without the API nothing can be discovered: stop the node with the reason rather than wait unseen
            log.Error("Kubernetes pod discovery cannot start: {0}", e.Message);
            await CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterJoinUnsuccessfulReason.Instance);
            return;
        }
        using var _ = lister;
        IReadOnlyList<Address> previous = [];
        var stableSince = DateTime.UtcNow;
        var interval = settings.LookupInterval;
        log.Info("Looking for cluster pods in namespace [{0}] with label selector [{1}], port [{2}]; joining when {3} are seen for {4}",
            lister.Namespace, settings.EffectiveLabelSelector, settings.RemotingPortName, settings.RequiredContactPoints, settings.StableMargin);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var seeds = SeedAddresses(await lister.ListAsync(stop), system.Name, Akka.Cluster.Cluster.Get(system).SelfAddress.Protocol);
                if (!seeds.SequenceEqual(previous))
                {
                    log.Info("Cluster pods: [{0}]", string.Join(", ", seeds));
                    previous = seeds;
                    stableSince = DateTime.UtcNow;
                }
                else if (seeds.Count >= settings.RequiredContactPoints && DateTime.UtcNow - stableSince >= settings.StableMargin)
                {
                    if (!seeds.Contains(cluster.SelfAddress))
                        log.Warning("This node's address {0} is not among the discovered pods: it joins them but can never found the cluster " +
                                    "(is --public-hostname the pod IP and the remoting port named '{1}'?)", cluster.SelfAddress, settings.RemotingPortName);
                    log.Info("Joining seed nodes [{0}]", string.Join(", ", seeds));
                    cluster.JoinSeedNodes(seeds);
                    return;
                }
                interval = settings.LookupInterval;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or IOException or KeyNotFoundException or InvalidOperationException)
            {
                // the API may be briefly unreachable or the RoleBinding not yet in place: back off, keep trying while the node lives
                interval = TimeSpan.FromTicks(Math.Min(interval.Ticks * 2, TimeSpan.FromSeconds(15).Ticks));
                log.Warning("Listing cluster pods failed ({0}: {1}); retrying in {2}", e.GetType().Name, e.Message, interval);
            }
            try { await Task.Delay(interval, stop); }
            catch (OperationCanceledException) { return; }
        }
    }
}
