using System.Net;
using System.Text.Json;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Cluster.Hosting;

namespace Pipeline.Tests.Kubernetes;

public class KubernetesBootstrapTests
{
    private static readonly Func<string, string?> NoEnvironment = _ => null;

    private static Config KubernetesConf() =>
        ConfigurationFactory.ParseString(File.ReadAllText(RepositoryTree.PathOf("cluster-config", "kubernetes.conf")));

    private static Config BuiltHocon(ClusterDiscoverySettings settings)
    {
        var builder = new AkkaConfigurationBuilder(new ServiceCollection(), NodeOptions.SystemName);
        builder.WithPipelineDiscovery(settings);
        return builder.Configuration.HasValue ? builder.Configuration.Value : ConfigurationFactory.Empty;
    }

    [Fact]
    public void Seed_node_discovery_adds_nothing_to_the_builder()
    {
        var settings = ClusterDiscoverySettings.FromConfig(ConfigurationFactory.ParseString("pipeline.discovery.method = config"), NoEnvironment);
        Assert.False(settings.UsesKubernetes);
        var hocon = BuiltHocon(settings);
        Assert.True(hocon.IsEmpty, $"expected no HOCON, got:\n{hocon}");
    }

    [Fact]
    public void No_discovery_section_and_no_environment_means_seed_nodes()
    {
        var settings = ClusterDiscoverySettings.FromConfig(ConfigurationFactory.Empty, NoEnvironment);
        Assert.Equal(ClusterDiscoverySettings.SeedNodesMethod, settings.Method);
        Assert.True(BuiltHocon(settings).IsEmpty);
    }

    [Fact]
    public void Kubernetes_discovery_bounds_the_join_and_adds_no_other_configuration()
    {
        var hocon = BuiltHocon(ClusterDiscoverySettings.FromConfig(KubernetesConf(), NoEnvironment));
        Assert.Equal(TimeSpan.FromSeconds(120), hocon.GetTimeSpan("akka.cluster.shutdown-after-unsuccessful-join-seed-nodes"));
        Assert.False(hocon.HasPath("akka.cluster.seed-nodes"));
        Assert.False(hocon.HasPath("akka.management"));
    }

    [Fact]
    public void Environment_turns_kubernetes_discovery_on_when_configuration_is_silent()
    {
        var settings = ClusterDiscoverySettings.FromConfig(ConfigurationFactory.Empty,
            name => name == ClusterDiscoverySettings.MethodVariable ? "kubernetes" : null);
        Assert.True(settings.UsesKubernetes);
        Assert.True(BuiltHocon(settings).HasPath("akka.cluster.shutdown-after-unsuccessful-join-seed-nodes"));
    }

    [Fact]
    public void Environment_overrides_the_configured_method()
    {
        var settings = ClusterDiscoverySettings.FromConfig(KubernetesConf(),
            name => name == ClusterDiscoverySettings.MethodVariable ? "config" : null);
        Assert.False(settings.UsesKubernetes);
        Assert.True(BuiltHocon(settings).IsEmpty);
    }

    [Fact]
    public void Environment_overrides_namespace_and_required_contact_points()
    {
        var environment = new Dictionary<string, string>
        {
            [ClusterDiscoverySettings.NamespaceVariable] = "batch",
            [ClusterDiscoverySettings.ContactPointsVariable] = "4",
        };
        var settings = ClusterDiscoverySettings.FromConfig(KubernetesConf(), name => environment.GetValueOrDefault(name));
        Assert.Equal(4, settings.RequiredContactPoints);
        Assert.Equal("batch", settings.PodNamespace);
    }

    [Fact]
    public void Non_numeric_contact_points_from_the_environment_are_refused()
    {
        var error = Assert.Throws<ConfigurationException>(() => ClusterDiscoverySettings.FromConfig(KubernetesConf(),
            name => name == ClusterDiscoverySettings.ContactPointsVariable ? "two" : null));
        Assert.Contains(ClusterDiscoverySettings.ContactPointsVariable, error.Message);
    }

    [Fact]
    public void Join_timeout_zero_waits_for_seeds_forever()
    {
        var config = ConfigurationFactory.ParseString("pipeline.discovery.join-timeout = 0s").WithFallback(KubernetesConf());
        var hocon = BuiltHocon(ClusterDiscoverySettings.FromConfig(config, NoEnvironment));
        Assert.Equal("off", hocon.GetString("akka.cluster.shutdown-after-unsuccessful-join-seed-nodes"));
    }

    [Theory]
    [InlineData("pipeline.discovery.method = dns", "'dns'")]
    [InlineData("pipeline.discovery.method = kubernetes\npipeline.discovery.required-contact-points = 0", "required-contact-points")]
    [InlineData("pipeline.discovery.method = kubernetes\npipeline.discovery.pod-label-selector = pipeline", "pod-label-selector")]
    [InlineData("pipeline.discovery.method = kubernetes\npipeline.discovery.lookup-interval = 0s", "lookup-interval")]
    public void Impossible_settings_are_refused_with_the_key_named(string hocon, string named)
    {
        var error = Assert.Throws<ConfigurationException>(() =>
            ClusterDiscoverySettings.FromConfig(ConfigurationFactory.ParseString(hocon), NoEnvironment));
        Assert.Contains(named, error.Message);
    }

    [Fact]
    public void Kubernetes_conf_states_the_same_defaults_as_the_code()
    {
        // a node started with PIPELINE_DISCOVERY=kubernetes but without kubernetes.conf must behave the same
        var fromFile = ClusterDiscoverySettings.FromConfig(KubernetesConf(), NoEnvironment);
        var fromCode = new ClusterDiscoverySettings { Method = ClusterDiscoverySettings.KubernetesMethod };
        Assert.Equal(fromCode, fromFile);
        Assert.Equal("akka-cluster=pipeline", fromFile.EffectiveLabelSelector);
    }

    private static ClusterPod Pod(string ip, int port) => new($"pod-{ip}-{port}", IPAddress.Parse(ip), port);

    [Fact]
    public void Seeds_are_ordered_by_numeric_address_then_port()
    {
        var seeds = PodSeedNodes.SeedAddresses(
            [Pod("10.0.0.10", 4053), Pod("10.0.0.9", 4053), Pod("10.0.1.2", 4053), Pod("10.0.0.9", 4052)], "pipeline");
        Assert.Equal(["akka.tcp://pipeline@10.0.0.9:4052", "akka.tcp://pipeline@10.0.0.9:4053", "akka.tcp://pipeline@10.0.0.10:4053",
            "akka.tcp://pipeline@10.0.1.2:4053"], seeds.Select(a => a.ToString()));
    }

    [Fact]
    public void Every_node_computes_the_same_seed_order_whatever_order_the_api_lists_pods()
    {
        ClusterPod[] pods = [Pod("10.1.2.3", 4053), Pod("10.1.0.200", 4053), Pod("10.1.0.30", 4053)];
        var first = PodSeedNodes.SeedAddresses(pods, "pipeline");
        var reversed = PodSeedNodes.SeedAddresses(pods.Reverse(), "pipeline");
        Assert.Equal(first, reversed);
        Assert.Equal(new Address("akka.tcp", "pipeline", "10.1.0.30", 4053), first[0]);
    }

    [Fact]
    public void A_pod_listed_twice_is_one_seed()
    {
        var seeds = PodSeedNodes.SeedAddresses([Pod("10.0.0.6", 4053), Pod("10.0.0.6", 4053)], "pipeline");
        Assert.Equal([new Address("akka.tcp", "pipeline", "10.0.0.6", 4053)], seeds);
    }

    [Fact]
    public void Only_running_pods_with_an_ip_and_the_named_port_are_listed()
    {
        var podList = JsonDocument.Parse("""
            {"kind": "PodList", "items": [
              {"metadata": {"name": "ready"}, "spec": {"containers": [{"name": "node", "ports": [{"name": "remoting", "containerPort": 4053}]}]},
               "status": {"phase": "Running", "podIP": "10.0.0.7"}},
              {"metadata": {"name": "sidecar-first"}, "spec": {"containers": [{"name": "proxy"},
                 {"name": "node", "ports": [{"name": "http", "containerPort": 8080}, {"name": "remoting", "containerPort": 4053}]}]},
               "status": {"phase": "Running", "podIP": "10.0.0.8"}},
              {"metadata": {"name": "pending"}, "spec": {"containers": [{"name": "node", "ports": [{"name": "remoting", "containerPort": 4053}]}]},
               "status": {"phase": "Pending"}},
              {"metadata": {"name": "terminating", "deletionTimestamp": "2026-11-26T10:00:00Z"},
               "spec": {"containers": [{"name": "node", "ports": [{"name": "remoting", "containerPort": 4053}]}]},
               "status": {"phase": "Running", "podIP": "10.0.0.9"}},
              {"metadata": {"name": "no-remoting"}, "spec": {"containers": [{"name": "job"}]},
               "status": {"phase": "Running", "podIP": "10.0.0.10"}}
            ]}
            """);
        var pods = KubernetesPodLister.Parse(podList.RootElement, "remoting");
        Assert.Equal([new ClusterPod("ready", IPAddress.Parse("10.0.0.7"), 4053), new ClusterPod("sidecar-first", IPAddress.Parse("10.0.0.8"), 4053)], pods);
    }

    [Fact]
    public void Outside_a_pod_the_lister_says_what_is_missing()
    {
        var settings = new ClusterDiscoverySettings { Method = ClusterDiscoverySettings.KubernetesMethod };
        var error = Assert.Throws<InvalidOperationException>(() => new KubernetesPodLister(settings, NoEnvironment));
        Assert.Contains("KUBERNETES_SERVICE_HOST", error.Message);
    }
}
