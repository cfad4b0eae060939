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
    public void Kubernetes_discovery_configures_management_bootstrap_and_pod_lookup()
    {
        var hocon = BuiltHocon(ClusterDiscoverySettings.FromConfig(KubernetesConf(), NoEnvironment));

        Assert.Equal(8558, hocon.GetInt("akka.management.http.port"));
        Assert.Equal(8558, hocon.GetInt("akka.management.http.bind-port"));
        Assert.Equal("0.0.0.0", hocon.GetString("akka.management.http.bind-hostname"));
        // advertised host left to Akka.Management's default: the remoting public hostname (the pod IP)
        Assert.Equal("<hostname>", hocon.GetString("akka.management.http.hostname"));
        var discovery = "akka.management.cluster.bootstrap.contact-point-discovery";
        Assert.Equal("pipeline", hocon.GetString($"{discovery}.service-name"));
        Assert.Equal("management", hocon.GetString($"{discovery}.port-name"));
        Assert.Equal(2, hocon.GetInt($"{discovery}.required-contact-point-nr"));
        Assert.Equal(TimeSpan.FromSeconds(5), hocon.GetTimeSpan($"{discovery}.stable-margin"));
        Assert.True(hocon.GetBoolean($"{discovery}.contact-with-all-contact-points"));
        Assert.Equal("akka.discovery", hocon.GetString($"{discovery}.discovery-method"));
        Assert.True(hocon.GetBoolean("akka.management.cluster.bootstrap.new-cluster-enabled"));
        Assert.Equal("kubernetes-api", hocon.GetString("akka.discovery.method"));
        Assert.Equal("akka-cluster={0}", hocon.GetString("akka.discovery.kubernetes-api.pod-label-selector"));
        Assert.StartsWith("Akka.Discovery.KubernetesApi.KubernetesApiServiceDiscovery, Akka.Discovery.KubernetesApi",
            hocon.GetString("akka.discovery.kubernetes-api.class"));
        // no namespace configured: the plugin reads the pod's own from its service account
        Assert.Equal("<pod-namespace>", hocon.GetString("akka.discovery.kubernetes-api.pod-namespace"));
    }

    [Fact]
    public void Environment_variable_turns_kubernetes_discovery_on_when_configuration_is_silent()
    {
        var settings = ClusterDiscoverySettings.FromConfig(ConfigurationFactory.Empty,
            name => name == ClusterDiscoverySettings.MethodVariable ? "kubernetes" : null);
        Assert.True(settings.UsesKubernetes);
        Assert.Equal("kubernetes-api", BuiltHocon(settings).GetString("akka.discovery.method"));
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
        var hocon = BuiltHocon(ClusterDiscoverySettings.FromConfig(KubernetesConf(), name => environment.GetValueOrDefault(name)));
        Assert.Equal("batch", hocon.GetString("akka.discovery.kubernetes-api.pod-namespace"));
        Assert.Equal(4, hocon.GetInt("akka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr"));
    }

    [Fact]
    public void Non_numeric_contact_points_from_the_environment_are_refused()
    {
        var error = Assert.Throws<ConfigurationException>(() => ClusterDiscoverySettings.FromConfig(KubernetesConf(),
            name => name == ClusterDiscoverySettings.ContactPointsVariable ? "two" : null));
        Assert.Contains(ClusterDiscoverySettings.ContactPointsVariable, error.Message);
    }

    [Fact]
    public void Namespace_and_contact_points_from_configuration_reach_the_plugins()
    {
        var config = ConfigurationFactory.ParseString("""
            pipeline.discovery {
              pod-namespace = batch
              required-contact-points = 5
              management.port = 9558
            }
            """).WithFallback(KubernetesConf());
        var hocon = BuiltHocon(ClusterDiscoverySettings.FromConfig(config, NoEnvironment));
        Assert.Equal("batch", hocon.GetString("akka.discovery.kubernetes-api.pod-namespace"));
        Assert.Equal(5, hocon.GetInt("akka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr"));
        Assert.Equal(9558, hocon.GetInt("akka.management.http.port"));
    }

    [Theory]
    [InlineData("pipeline.discovery.method = dns", "'dns'")]
    [InlineData("pipeline.discovery.method = kubernetes\npipeline.discovery.required-contact-points = 0", "required-contact-points")]
    [InlineData("pipeline.discovery.method = kubernetes\npipeline.discovery.management.port = 70000", "management.port")]
    [InlineData("pipeline.discovery.method = kubernetes\npipeline.discovery.pod-label-selector = pipeline", "pod-label-selector")]
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
    }
}
