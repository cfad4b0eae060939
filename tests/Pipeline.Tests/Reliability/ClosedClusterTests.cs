using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Event;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Pipeline.Cluster.Hosting;
using Pipeline.Cluster.Remoting;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.Reliability;

/// <summary>
/// Akka.Remote over mutual TLS (RemoteTls): nodes holding the cluster certificate form a cluster; a plain-TCP node and a
/// node with another certificate never become members. Certificates are made here, never stored in the repository.
/// </summary>
[Trait("Category", "Security")]
[Trait("Category", "Slow")]
public sealed class ClosedClusterTests : IDisposable
{
    private const string Password = "test-only-pfx-password";
    private static readonly TimeSpan NeverUpWindow = TimeSpan.FromSeconds(8);
    private readonly string _folder = Directory.CreateTempSubdirectory("pipeline-tls-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private sealed class Node(IHost host, ConcurrentQueue<string> warnings) : IAsyncDisposable
    {
        public IHost Host { get; } = host;
        public ActorSystem System => Host.Services.GetRequiredService<ActorSystem>();
        public Akka.Cluster.Cluster Cluster => Akka.Cluster.Cluster.Get(System);
        public string Address => Cluster.SelfAddress.ToString();
        public ConcurrentQueue<string> Warnings { get; } = warnings;

        public bool SeesUp(Akka.Actor.Address member)
        {
            foreach (var m in Cluster.State.Members)
                if (m.Address.Equals(member) && m.Status == MemberStatus.Up) return true;
            return false;
        }

        public async ValueTask DisposeAsync()
        {
            try { await Host.StopAsync(TimeSpan.FromSeconds(10)); }
            finally { Host.Dispose(); }
        }
    }

    /// <summary>A node configured as PipelineNode configures one (the shipped HOCON, Akka.Hosting remoting), with or without TLS.</summary>
    private static async Task<Node> StartNodeAsync(int port, string seed, RemoteTlsSettings? tls)
    {
        var config = PipelineNode.LoadConfig(new NodeOptions { Worker = true, Local = true })
            .WithFallback(ConfigurationFactory.Empty);
        var warnings = new ConcurrentQueue<string>();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddAkka(NodeOptions.SystemName, (akka, _) =>
        {
            var remote = new RemoteOptions { HostName = "127.0.0.1", Port = port };
            if (tls is not null) remote = remote.WithTls(tls);
            akka.AddHocon(config, HoconAddMode.Prepend)
                .AddHocon("akka.cluster.seed-node-timeout = 2s\nakka.loglevel = WARNING", HoconAddMode.Prepend)
                .WithRemoting(remote)
                .WithClustering(new ClusterOptions { Roles = ["worker"], SeedNodes = RemoteTls.SeedAddresses([seed], remote) })
                .WithActors((system, _) =>
                {
                    var collector = system.ActorOf(Props.Create(() => new WarningSink(warnings)), "warnings");
                    system.EventStream.Subscribe(collector, typeof(Warning));
                });
        });
        var host = builder.Build();
        await host.StartAsync();
        return new Node(host, warnings);
    }

    private sealed class WarningSink : ReceiveActor
    {
        public WarningSink(ConcurrentQueue<string> warnings) => Receive<Warning>(w => warnings.Enqueue(w.Message?.ToString() ?? ""));
    }

    private RemoteTlsSettings Settings(X509Certificate2 certificate, string name, string? ca = null) =>
        new(TestCertificates.WritePfx(certificate, _folder, name, Password), Password, [], ca);

    private static async Task<bool> EventuallyAsync(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (condition()) return true;
            await Task.Delay(100);
        }
        return condition();
    }

    [Fact]
    public async Task Nodes_with_the_cluster_certificate_form_a_cluster_and_its_port_speaks_mutual_tls()
    {
        using var certificate = TestCertificates.SelfSigned("pipeline-cluster");
        var tls = Settings(certificate, "cluster");
        var seedPort = FreePort();
        var seed = $"akka.tcp://pipeline@127.0.0.1:{seedPort}";
        await using var first = await StartNodeAsync(seedPort, seed, tls);
        await using var second = await StartNodeAsync(FreePort(), seed, tls);

        var bothUp = await EventuallyAsync(() => first.SeesUp(second.Cluster.SelfAddress) && second.SeesUp(first.Cluster.SelfAddress),
            TimeSpan.FromSeconds(20));
        Assert.True(bothUp, "two nodes holding the cluster certificate did not see each other Up");

        // the remoting port answers a TLS handshake that presents the cluster certificate as the client's
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", seedPort);
        await using var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            ClientCertificates = [X509CertificateLoader.LoadPkcs12FromFile(tls.CertificatePath, Password)],
            RemoteCertificateValidationCallback = (_, server, _, _) =>
                server is not null && RemoteTls.Sha256(X509CertificateLoader.LoadCertificate(server.GetRawCertData())) == RemoteTls.Sha256(certificate),
        });
        Assert.True(ssl.IsAuthenticated);
        Assert.True(ssl.IsEncrypted);
    }

    [Fact]
    public async Task Plain_tcp_node_never_becomes_a_member_of_a_tls_cluster()
    {
        using var certificate = TestCertificates.SelfSigned("pipeline-cluster");
        var seedPort = FreePort();
        var seed = $"akka.tcp://pipeline@127.0.0.1:{seedPort}";
        await using var member = await StartNodeAsync(seedPort, seed, Settings(certificate, "cluster"));
        Assert.True(await EventuallyAsync(() => member.SeesUp(member.Cluster.SelfAddress), TimeSpan.FromSeconds(15)), "the seed did not come Up");

        await using var intruder = await StartNodeAsync(FreePort(), seed, tls: null);
        var joined = await EventuallyAsync(() => member.SeesUp(intruder.Cluster.SelfAddress) || intruder.Cluster.SelfMember.Status == MemberStatus.Up,
            NeverUpWindow);

        Assert.False(joined, "a node without TLS became a member");
        Assert.Single(member.Cluster.State.Members);
    }

    [Fact]
    public async Task Node_with_another_certificate_is_refused_by_the_peer_check_and_never_becomes_a_member()
    {
        using var certificate = TestCertificates.SelfSigned("pipeline-cluster");
        using var other = TestCertificates.SelfSigned("pipeline-cluster"); // same name, another key: only the fingerprint tells
        var seedPort = FreePort();
        var seed = $"akka.tcp://pipeline@127.0.0.1:{seedPort}";
        await using var member = await StartNodeAsync(seedPort, seed, Settings(certificate, "cluster"));
        Assert.True(await EventuallyAsync(() => member.SeesUp(member.Cluster.SelfAddress), TimeSpan.FromSeconds(15)), "the seed did not come Up");

        await using var intruder = await StartNodeAsync(FreePort(), seed, Settings(other, "other"));
        var joined = await EventuallyAsync(() => member.SeesUp(intruder.Cluster.SelfAddress) || intruder.Cluster.SelfMember.Status == MemberStatus.Up,
            NeverUpWindow);

        Assert.False(joined, "a node with another certificate became a member");
        Assert.Single(member.Cluster.State.Members);
        Assert.Contains(member.Warnings.Concat(intruder.Warnings), w => w.Contains("is not the cluster's", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_a_cluster_ca_nodes_with_issued_certificates_join_and_a_self_signed_one_does_not()
    {
        using var ca = TestCertificates.SelfSigned("pipeline-test-ca");
        var caFile = TestCertificates.WritePem(ca, _folder, "ca");
        using var a = TestCertificates.IssuedBy(ca, "node-a");
        using var b = TestCertificates.IssuedBy(ca, "node-b");
        using var rogue = TestCertificates.SelfSigned("node-c");
        var seedPort = FreePort();
        var seed = $"akka.tcp://pipeline@127.0.0.1:{seedPort}";
        await using var first = await StartNodeAsync(seedPort, seed, Settings(a, "a", caFile));
        await using var second = await StartNodeAsync(FreePort(), seed, Settings(b, "b", caFile));
        Assert.True(await EventuallyAsync(() => first.SeesUp(second.Cluster.SelfAddress), TimeSpan.FromSeconds(20)),
            "two nodes with certificates of the cluster CA did not form a cluster");

        await using var intruder = await StartNodeAsync(FreePort(), seed, Settings(rogue, "rogue", caFile));
        var joined = await EventuallyAsync(() => first.SeesUp(intruder.Cluster.SelfAddress) || intruder.Cluster.SelfMember.Status == MemberStatus.Up,
            NeverUpWindow);
        Assert.False(joined, "a node whose certificate the cluster CA did not issue became a member");
        Assert.Equal(2, first.Cluster.State.Members.Count);
    }
}
