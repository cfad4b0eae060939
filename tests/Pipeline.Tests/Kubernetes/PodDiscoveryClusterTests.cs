using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Cluster.Hosting;

namespace Pipeline.Tests.Kubernetes;

/// <summary>
/// Cluster formation through <see cref="KubernetesBootstrap"/> end to end, with a stand-in for the Kubernetes API server:
/// two ActorSystems list "pods" over HTTPS with the label selector and token a pod would use, and form one cluster.
/// </summary>
[Trait("Category", "Slow")]
public sealed class PodDiscoveryClusterTests : IAsyncLifetime
{
    // the Kubernetes client reads the API address from variables named in HOCON: unique names keep tests apart
    private const string HostVariable = "PIPELINE_TEST_FAKE_K8S_HOST";
    private const string PortVariable = "PIPELINE_TEST_FAKE_K8S_PORT";
    private const string Namespace = "pipeline";
    private const string Token = "service-account-token-for-test";

    private readonly string _scratch = Directory.CreateTempSubdirectory("pipeline-discovery-").FullName;
    private readonly ConcurrentQueue<(string Path, string? Selector, string? Authorization)> _requests = new();
    private readonly List<IHost> _nodes = [];
    private readonly X509Certificate2 _certificate = SelfSignedCertificate();
    private WebApplication? _apiServer;
    private JsonArray _pods = [];

    public async Task InitializeAsync()
    {
        _apiServer = StartFakeApiServer();
        await _apiServer.StartAsync();
        var apiPort = new Uri(_apiServer.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;
        Environment.SetEnvironmentVariable(HostVariable, "127.0.0.1");
        Environment.SetEnvironmentVariable(PortVariable, apiPort.ToString());
        // what the kubelet mounts into every pod: the cluster CA and the ServiceAccount token
        await File.WriteAllTextAsync(Path.Combine(_scratch, "ca.crt"), _certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(Path.Combine(_scratch, "token"), Token);
    }

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            try { await node.StopAsync(TimeSpan.FromSeconds(20)); } catch (OperationCanceledException) { }
            node.Dispose();
        }
        if (_apiServer is not null) await _apiServer.DisposeAsync();
        _certificate.Dispose();
        Environment.SetEnvironmentVariable(HostVariable, null);
        Environment.SetEnvironmentVariable(PortVariable, null);
        Directory.Delete(_scratch, recursive: true);
    }

    [Fact]
    public async Task Two_nodes_form_one_cluster_from_the_pods_the_api_lists()
    {
        int[] remotingPorts = [FreePort(), FreePort()];
        _pods = new JsonArray(
            Pod("pipeline-coordinator-0", "akka-cluster", "pipeline", remotingPorts[0]),
            Pod("pipeline-worker-cpu-1", "akka-cluster", "pipeline", remotingPorts[1]),
            // another application's pod in the namespace: the label selector must keep it out
            Pod("unrelated-0", "app", "other", FreePort()));
        var roles = new[] { "coordinator", "worker" };
        for (var i = 0; i < 2; i++) _nodes.Add(await StartNode(roles[i], remotingPorts[i]));

        var systems = _nodes.Select(n => n.Services.GetRequiredService<ActorSystem>()).ToList();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline && !systems.All(s => UpMembers(s) == 2)) await Task.Delay(250);

        Assert.All(systems, s => Assert.Equal(2, UpMembers(s)));
        var members = Akka.Cluster.Cluster.Get(systems[0]).State.Members.SelectMany(m => m.Roles).ToHashSet();
        Assert.Contains("coordinator", members);
        Assert.Contains("worker", members);
        Assert.NotEmpty(_requests);
        Assert.All(_requests, r =>
        {
            Assert.Equal($"/api/v1/namespaces/{Namespace}/pods", r.Path);
            Assert.Equal("akka-cluster=pipeline", r.Selector);
            Assert.Equal($"Bearer {Token}", r.Authorization);
        });
    }

    [Fact]
    public async Task A_restarted_first_pod_rejoins_the_running_cluster_instead_of_founding_another()
    {
        int[] ports = [FreePort(), FreePort()];
        Array.Sort(ports);
        // the lowest address is the first seed: the node that would found a new cluster if it did not ask the others
        _pods = new JsonArray(Pod("pipeline-coordinator-0", "akka-cluster", "pipeline", ports[0]), Pod("pipeline-worker-cpu-1", "akka-cluster", "pipeline", ports[1]));
        var first = await StartNode("coordinator", ports[0]);
        var survivor = await StartNode("worker", ports[1]);
        _nodes.Add(survivor);
        await WaitFor(() => UpMembers(Sys(first)) == 2 && UpMembers(Sys(survivor)) == 2, "the first cluster to form");
        await first.StopAsync(TimeSpan.FromSeconds(30));
        first.Dispose();
        await WaitFor(() => UpMembers(Sys(survivor)) == 1, "the survivor to see the first node leave");

        var restarted = await StartNode("coordinator", ports[0]);
        _nodes.Add(restarted);
        await WaitFor(() => UpMembers(Sys(restarted)) == 2 && UpMembers(Sys(survivor)) == 2, "the restarted node to join the survivor");
        var survivorView = Akka.Cluster.Cluster.Get(Sys(survivor)).State.Members.Select(m => m.UniqueAddress).ToHashSet();
        Assert.Contains(Akka.Cluster.Cluster.Get(Sys(restarted)).SelfUniqueAddress, survivorView);
    }

    private static ActorSystem Sys(IHost node) => node.Services.GetRequiredService<ActorSystem>();

    private static async Task WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(250);
        }
    }

    [Fact]
    public async Task A_refused_listing_names_the_missing_permission()
    {
        var wrongToken = Path.Combine(_scratch, "other-token");
        await File.WriteAllTextAsync(wrongToken, "token-of-another-service-account");
        using var lister = new KubernetesPodLister(Settings() with { TokenPath = wrongToken });
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => lister.ListAsync(CancellationToken.None));
        Assert.Contains("403", error.Message);
        Assert.Contains("pods get/watch/list", error.Message);
    }

    [Fact]
    public async Task An_api_server_certificate_outside_the_cluster_ca_is_refused()
    {
        using var stranger = SelfSignedCertificate();
        var otherCa = Path.Combine(_scratch, "other-ca.crt");
        await File.WriteAllTextAsync(otherCa, stranger.ExportCertificatePem());
        using var lister = new KubernetesPodLister(Settings() with { CaPath = otherCa });
        await Assert.ThrowsAsync<HttpRequestException>(() => lister.ListAsync(CancellationToken.None));
        Assert.Empty(_requests);
    }

    private static int UpMembers(ActorSystem system) =>
        Akka.Cluster.Cluster.Get(system).State.Members.Count(m => m.Status == MemberStatus.Up);

    private ClusterDiscoverySettings Settings() =>
        ClusterDiscoverySettings.FromConfig(
            Akka.Configuration.ConfigurationFactory.ParseString(File.ReadAllText(RepositoryTree.PathOf("cluster-config", "kubernetes.conf"))),
            _ => null) with
        {
            PodNamespace = Namespace,
            StableMargin = TimeSpan.FromSeconds(1),
            ApiHostVariable = HostVariable,
            ApiPortVariable = PortVariable,
            TokenPath = Path.Combine(_scratch, "token"),
            CaPath = Path.Combine(_scratch, "ca.crt"),
        };

    private async Task<IHost> StartNode(string role, int remotingPort)
    {
        var settings = Settings();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddAkka(NodeOptions.SystemName, (akka, _) =>
        {
            // loopback stands in for the pod IP; each "pod" lists this node's remoting port
            akka.WithRemoting(new RemoteOptions { HostName = "127.0.0.1", Port = remotingPort })
                .WithClustering(new ClusterOptions { Roles = [role] })
                .WithPipelineDiscovery(settings);
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private WebApplication StartFakeApiServer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(_certificate)));
        var app = builder.Build();
        app.MapGet("/api/v1/namespaces/{ns}/pods", (HttpContext context, string ns) =>
        {
            var selector = context.Request.Query["labelSelector"].FirstOrDefault();
            var authorization = context.Request.Headers.Authorization.FirstOrDefault();
            _requests.Enqueue((context.Request.Path.Value!, selector, authorization));
            if (authorization != $"Bearer {Token}")
                return Results.Content("""{"kind":"Status","status":"Failure","reason":"Forbidden","code":403}""", "application/json", statusCode: 403);
            var items = new JsonArray();
            foreach (var pod in _pods)
                if (selector is null || MatchesSelector(pod!, selector)) items.Add(pod!.DeepClone());
            var list = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "PodList", ["metadata"] = new JsonObject(), ["items"] = items };
            return Results.Content(list.ToJsonString(), "application/json");
        });
        return app;
    }

    private static bool MatchesSelector(JsonNode pod, string selector)
    {
        foreach (var requirement in selector.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = requirement.Split('=');
            if ((string?)pod["metadata"]!["labels"]![parts[0]] != parts[1]) return false;
        }
        return true;
    }

    private static JsonObject Pod(string name, string labelKey, string labelValue, int remotingPort) => new()
    {
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = Namespace, ["labels"] = new JsonObject { [labelKey] = labelValue } },
        ["spec"] = new JsonObject
        {
            ["containers"] = new JsonArray(new JsonObject
            {
                ["name"] = "node",
                ["image"] = "pipeline",
                ["ports"] = new JsonArray(new JsonObject { ["name"] = "remoting", ["containerPort"] = remotingPort }),
            }),
        },
        ["status"] = new JsonObject
        {
            ["phase"] = "Running",
            ["podIP"] = "127.0.0.1",
            ["containerStatuses"] = new JsonArray(new JsonObject
            {
                ["name"] = "node", ["ready"] = true, ["restartCount"] = 0, ["image"] = "pipeline", ["imageID"] = "",
                ["state"] = new JsonObject { ["running"] = new JsonObject() },
            }),
        },
    };

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static X509Certificate2 SelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        // Kestrel on Linux needs a certificate whose key it can use from a PKCS#12 blob
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }
}
