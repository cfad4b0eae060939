using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Akka.Configuration;
using Pipeline.Cluster.Hosting;
using Spectre.Console.Cli;
using static Pipeline.Tests.Kubernetes.RenderedManifests;

namespace Pipeline.Tests.Kubernetes;

[Collection(RenderedManifestsCollection.Name)]
[Trait("Category", "Slow")]
public class ManifestTests(RenderedManifests manifests)
{
    private const int RemotingPort = 4053;
    private const int ApiPort = 8080;

    private IEnumerable<JsonObject> Workloads(string kustomization) => manifests.In(kustomization).Where(IsWorkload);

    private IEnumerable<JsonObject> ClusterPods(string kustomization) => Workloads(kustomization).Where(IsClusterMember);

    private static Config ClusterConfig(string file) =>
        ConfigurationFactory.ParseString(File.ReadAllText(RepositoryTree.PathOf("cluster-config", file)));

    private static ClusterDiscoverySettings Discovery() =>
        ClusterDiscoverySettings.FromConfig(ClusterConfig("kubernetes.conf"), _ => null);

    [Fact]
    public void Every_kustomization_renders_and_passes_the_Kubernetes_schemas()
    {
        Assert.True(manifests.Validation.ExitCode == 0, manifests.Validation.Output);
        Assert.Contains("valid:", manifests.Validation.Stdout);
        string[] clusterKinds = ["Namespace", "ServiceAccount", "Role", "RoleBinding", "Service", "PersistentVolumeClaim",
            "StatefulSet", "Deployment", "ConfigMap", "Secret"];
        foreach (var overlay in new[] { "overlays/cpu", "overlays/gpu" })
        foreach (var kind in clusterKinds)
            Assert.Contains(manifests.In(overlay), o => Kind(o) == kind);
        Assert.Contains(manifests.In("overlays/gpu"), o => Kind(o) == "Deployment" && Name(o) == "pipeline-worker-gpu");
        Assert.DoesNotContain(manifests.In("overlays/cpu"), o => Kind(o) == "Deployment" && Name(o) == "pipeline-worker-gpu");
        Assert.Single(manifests.In("submit"), o => Kind(o) == "Job");
        Assert.All(manifests.All.Where(o => Kind(o) != "Namespace"), o => Assert.Equal("pipeline", (string?)o["metadata"]!["namespace"]));
    }

    [Fact]
    public void Schema_check_rejects_unknown_fields_wrong_types_and_invalid_names()
    {
        var file = Path.Combine(manifests.CopyRoot, "broken.yaml");
        File.WriteAllText(file, """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: broken
            spec:
              selector:
                matchLabels: {app: broken}
              template:
                metadata:
                  labels: {app: broken}
                spec:
                  terminationGracePeriodSeconds: "90"
                  containers:
                    - name: worker
                      image: pipeline
                      imagePullPolcy: Always
                      ports:
                        - name: akka-management-http
                          containerPort: 8558
            ---
            apiVersion: v1
            kind: Servce
            metadata:
              name: nothing
            """);
        var result = Validate([file]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("imagePullPolcy", result.Stderr);
        Assert.Contains("terminationGracePeriodSeconds", result.Stderr);
        Assert.Contains("akka-management-http", result.Stderr);
        Assert.Contains("Servce is not a kind", result.Stderr);
    }

    [Fact]
    public void Overlay_does_not_render_without_the_token_file_and_the_token_is_never_committed()
    {
        var overlay = Path.Combine(manifests.CopyRoot, "no-token");
        Directory.CreateDirectory(overlay);
        File.WriteAllText(Path.Combine(overlay, "kustomization.yaml"),
            File.ReadAllText(RepositoryTree.PathOf("k8s", "overlays", "cpu", "kustomization.yaml")).Replace("../../base", "../k8s/base"));
        var result = Render(overlay);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("api-token", result.Stderr);

        var ignored = Tool.Run("git", ["check-ignore", "--no-index", "k8s/overlays/cpu/secrets/api-token", "k8s/overlays/gpu/secrets/api-token"]);
        Assert.True(ignored.ExitCode == 0, $"token files must be git-ignored: {ignored.Output}");
        var tracked = Tool.Run("git", ["ls-files", "k8s"]);
        Assert.Equal(0, tracked.ExitCode);
        Assert.DoesNotContain("/secrets/", tracked.Stdout);
    }

    [Fact]
    public void Token_secret_carries_the_token_file()
    {
        foreach (var overlay in new[] { "overlays/cpu", "overlays/gpu" })
        {
            var secret = One(manifests.In(overlay), "Secret", "pipeline-api-token");
            var token = Convert.FromBase64String((string)secret["data"]!["api-token"]!);
            Assert.Equal(TestToken, System.Text.Encoding.UTF8.GetString(token));
        }
    }

    [Fact]
    public void Configuration_copies_in_the_base_are_byte_identical_to_cluster_config()
    {
        var sources = Directory.GetFiles(RepositoryTree.PathOf("cluster-config"), "*.conf").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        var copies = Directory.GetFiles(RepositoryTree.PathOf("k8s", "base", "cluster-config"), "*.conf").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(sources, copies);
        foreach (var name in sources)
            Assert.True(File.ReadAllBytes(RepositoryTree.PathOf("cluster-config", name!)).AsSpan()
                    .SequenceEqual(File.ReadAllBytes(RepositoryTree.PathOf("k8s", "base", "cluster-config", name!))),
                $"k8s/base/cluster-config/{name} differs from cluster-config/{name}: run k8s/sync-cluster-config.sh");

        var configMap = manifests.In("overlays/cpu").Single(o => Kind(o) == "ConfigMap");
        var data = configMap["data"]!.AsObject();
        Assert.Equal(sources, data.Select(p => p.Key).Order(StringComparer.Ordinal).ToArray());
        foreach (var (name, content) in data)
            Assert.Equal(File.ReadAllText(RepositoryTree.PathOf("cluster-config", name)), (string)content!);
    }

    [Fact]
    public void Cluster_pods_read_the_mounted_configuration()
    {
        foreach (var overlay in new[] { "overlays/cpu", "overlays/gpu" })
        {
            var configMap = manifests.In(overlay).Single(o => Kind(o) == "ConfigMap");
            var keys = configMap["data"]!.AsObject().Select(p => p.Key).ToHashSet();
            foreach (var workload in ClusterPods(overlay))
            {
                var volume = PodSpec(workload)["volumes"]!.AsArray().Single(v => (string?)v!["configMap"]?["name"] == Name(configMap))!;
                var container = Containers(workload).Single();
                var mount = container["volumeMounts"]!.AsArray().Single(m => (string)m!["name"]! == (string)volume["name"]!)!;
                var configDir = (string)Env(container)["PIPELINE_CONFIG_DIR"]["value"]!;
                Assert.Equal((string)mount["mountPath"]!, configDir);
                var configFile = Option(container, "--config");
                Assert.NotNull(configFile);
                Assert.Equal(configDir, Path.GetDirectoryName(configFile));
                Assert.Contains(Path.GetFileName(configFile), keys);
                Assert.Equal("kubernetes", (string)Env(container)[ClusterDiscoverySettings.MethodVariable]["value"]!);
            }
        }
    }

    [Fact]
    public void Ports_match_the_configuration_and_the_code()
    {
        var discovery = Discovery();
        Assert.Equal(RemotingPort, ClusterConfig("base.conf").GetInt("akka.remote.dot-netty.tcp.port"));
        Assert.Equal(ApiPort, new Uri(Pipeline.Cluster.Api.ApiOptions.DefaultUrls.Replace("0.0.0.0", "host")).Port);
        foreach (var overlay in new[] { "overlays/cpu", "overlays/gpu" })
        {
            foreach (var workload in ClusterPods(overlay))
            {
                var container = Containers(workload).Single();
                Assert.Equal(RemotingPort, ContainerPort(container, "remoting"));
                Assert.Equal(RemotingPort.ToString(), Option(container, "--port"));
                Assert.Equal(RemotingPort, ContainerPort(container, discovery.RemotingPortName));
                // the pod IP is what pod discovery returns and what other nodes must reach
                Assert.Equal("$(POD_IP)", Option(container, "--public-hostname"));
                Assert.Equal("status.podIP", (string)Env(container)["POD_IP"]["valueFrom"]!["fieldRef"]!["fieldPath"]!);
            }
            var headless = One(manifests.In(overlay), "Service", "pipeline-cluster");
            Assert.Equal("None", (string)headless["spec"]!["clusterIP"]!);
            var headlessPorts = headless["spec"]!["ports"]!.AsArray().ToDictionary(p => (string)p!["targetPort"]!, p => (int)p!["port"]!);
            Assert.Equal([discovery.RemotingPortName], headlessPorts.Keys);
            Assert.Equal(RemotingPort, headlessPorts[discovery.RemotingPortName]);

            var coordinator = Containers(One(manifests.In(overlay), "StatefulSet", "pipeline-coordinator")).Single();
            Assert.Equal(ApiPort, ContainerPort(coordinator, "http"));
            Assert.Equal(ApiPort, new Uri(((string)Env(coordinator)["PIPELINE_API_URLS"]["value"]!).Replace("0.0.0.0", "host")).Port);
            var api = One(manifests.In(overlay), "Service", "pipeline-api")["spec"]!["ports"]!.AsArray().Single()!;
            Assert.Equal(ApiPort, (int)api["port"]!);
            Assert.Equal("http", (string)api["targetPort"]!);
        }
        var submit = Containers(manifests.In("submit").Single(IsWorkload)).Single();
        var apiUrl = new Uri(Option(submit, "--api")!);
        Assert.Equal("pipeline-api", apiUrl.Host);
        Assert.Equal(ApiPort, apiUrl.Port);
    }

    [Fact]
    public void Selectors_match_the_pod_labels()
    {
        foreach (var kustomization in Kustomizations)
        foreach (var workload in Workloads(kustomization).Where(w => Kind(w) != "Job"))
        {
            var selector = Labels(workload["spec"]!["selector"]!["matchLabels"]);
            var labels = Labels(PodTemplate(workload)["metadata"]!["labels"]);
            Assert.NotEmpty(selector);
            Assert.All(selector, pair => Assert.Equal(pair.Value, labels.GetValueOrDefault(pair.Key)));
        }
        foreach (var overlay in new[] { "overlays/cpu", "overlays/gpu" })
        {
            var pods = Workloads(overlay).ToList();
            foreach (var service in manifests.In(overlay).Where(o => Kind(o) == "Service"))
            {
                var selector = Labels(service["spec"]!["selector"]);
                var selected = pods.Where(p => Matches(selector, PodTemplate(p))).ToList();
                Assert.True(selected.Count > 0, $"Service {Name(service)} selects no pod");
                if (Name(service) == "pipeline-cluster")
                    Assert.Equal(ClusterPods(overlay).Select(Name).Order(StringComparer.Ordinal), selected.Select(Name).Order(StringComparer.Ordinal));
                if (Name(service) == "pipeline-api")
                    Assert.Equal(["pipeline-coordinator"], selected.Select(Name));
            }
        }
    }

    [Fact]
    public void Pod_discovery_selector_finds_every_cluster_pod_and_nothing_else()
    {
        var discovery = Discovery();
        var selector = discovery.EffectiveLabelSelector.Split('=');
        var wanted = new Dictionary<string, string> { [selector[0]] = selector[1] };
        foreach (var kustomization in Kustomizations)
        foreach (var workload in Workloads(kustomization))
        {
            var matched = Matches(wanted, PodTemplate(workload));
            Assert.True(matched == IsClusterMember(workload), $"{Name(workload)}: discovery selector {string.Join('=', selector)} matched={matched}");
            // the plugin takes the remoting port by name from every pod it finds
            if (matched) Assert.Equal(RemotingPort, ContainerPort(Containers(workload).Single(), discovery.RemotingPortName));
        }
    }

    private static bool Matches(IReadOnlyDictionary<string, string> selector, JsonObject podTemplate)
    {
        var labels = Labels(podTemplate["metadata"]!["labels"]);
        return selector.All(pair => labels.GetValueOrDefault(pair.Key) == pair.Value);
    }

    [Fact]
    public void Environment_variables_are_ones_the_code_or_configuration_reads()
    {
        var source = RepositoryTree.SourceText();
        var names = manifests.All.Where(IsWorkload).SelectMany(Containers).SelectMany(c => Env(c).Keys).Distinct().ToList();
        Assert.Contains("PIPELINE_CONFIG_DIR", names);
        foreach (var name in names.Where(n => n.StartsWith("PIPELINE_")))
        {
            Assert.True(Regex.IsMatch(source, $@"\b{name}\b"), $"{name} is set in k8s/ but nothing in src/ or cluster-config/ reads it");
        }
    }

    private static HashSet<string>? OptionsOf(string command)
    {
        // commands live in Pipeline.Cli.Commands as <Name>Command with a nested Settings class
        var type = typeof(Pipeline.Cli.Commands.NodeCommand).Assembly.GetType(
            $"Pipeline.Cli.Commands.{char.ToUpperInvariant(command[0])}{command[1..]}Command+Settings");
        return type?.GetProperties().SelectMany(p => p.GetCustomAttributes<CommandOptionAttribute>())
            .SelectMany(a => a.LongNames).Select(n => "--" + n).ToHashSet();
    }

    [Fact]
    public void Container_arguments_are_commands_and_options_of_the_cli()
    {
        foreach (var container in manifests.All.Where(IsWorkload).SelectMany(Containers))
        {
            var args = Args(container);
            var options = OptionsOf(args[0]);
            Assert.True(options is not null, $"pipeline has no command '{args[0]}'");
            foreach (var option in args.Where(a => a.StartsWith("--")))
                Assert.True(options.Contains(option), $"pipeline {args[0]} has no option {option}");
        }
        foreach (var overlay in new[] { "overlays/cpu", "overlays/gpu" })
        foreach (var container in ClusterPods(overlay).SelectMany(Containers))
        {
            Assert.Equal("node", Args(container)[0]);
            Assert.Contains(Option(container, "--role"), new[] { "coordinator", "worker" });
        }
    }

    [Fact]
    public void Images_are_the_cpu_and_gpu_images_at_one_registry_and_tag()
    {
        const string cpuImage = "registry.example.com/pipeline/pipeline:0.1.0";
        const string gpuImage = "registry.example.com/pipeline/pipeline-gpu:0.1.0";
        foreach (var kustomization in Kustomizations)
        foreach (var workload in Workloads(kustomization))
        {
            var image = (string)Containers(workload).Single()["image"]!;
            Assert.Equal(Name(workload) == "pipeline-worker-gpu" ? gpuImage : cpuImage, image);
        }
        foreach (var flavour in new[] { "cpu", "gpu" })
            Assert.True(File.Exists(RepositoryTree.PathOf("docker", $"Dockerfile.{flavour}")));
    }

    [Fact]
    public void Gpu_workers_ask_for_a_gpu_on_gpu_nodes_and_cpu_pods_do_not()
    {
        var gpuWorker = One(manifests.In("overlays/gpu"), "Deployment", "pipeline-worker-gpu");
        var container = Containers(gpuWorker).Single();
        Assert.Equal("1", container["resources"]!["limits"]!["nvidia.com/gpu"]!.ToString());
        Assert.Contains("--gpu", Args(container));
        Assert.Equal("worker", Option(container, "--role"));
        Assert.NotEmpty(Labels(PodSpec(gpuWorker)["nodeSelector"]));
        Assert.Contains(PodSpec(gpuWorker)["tolerations"]!.AsArray(), t => (string?)t!["key"] == "nvidia.com/gpu");
        foreach (var workload in manifests.All.Where(IsWorkload).Where(w => Name(w) != "pipeline-worker-gpu"))
        foreach (var other in Containers(workload))
        {
            Assert.DoesNotContain("--gpu", Args(other));
            Assert.Null(other["resources"]?["limits"]?["nvidia.com/gpu"]);
        }
    }

    [Fact]
    public void Pods_run_restricted_with_bounded_resources()
    {
        foreach (var workload in manifests.All.Where(IsWorkload))
        {
            var pod = PodSpec(workload);
            var podSecurity = pod["securityContext"]!;
            Assert.True((bool)podSecurity["runAsNonRoot"]!, Name(workload));
            Assert.NotEqual(0, (int)podSecurity["runAsUser"]!);
            Assert.Equal("RuntimeDefault", (string)podSecurity["seccompProfile"]!["type"]!);
            var tmp = pod["volumes"]!.AsArray().Single(v => (string)v!["name"]! == "tmp")!;
            Assert.NotNull(tmp["emptyDir"]);
            foreach (var container in Containers(workload))
            {
                var security = container["securityContext"]!;
                Assert.True((bool)security["readOnlyRootFilesystem"]!, Name(workload));
                Assert.False((bool)security["allowPrivilegeEscalation"]!);
                Assert.Equal(["ALL"], security["capabilities"]!["drop"]!.AsArray().Select(c => (string)c!));
                Assert.Contains(container["volumeMounts"]!.AsArray(), m => (string)m!["name"]! == "tmp" && (string)m["mountPath"]! == "/tmp");
                foreach (var bound in new[] { "requests", "limits" })
                foreach (var resource in new[] { "cpu", "memory" })
                    Assert.NotNull(container["resources"]![bound]![resource]);
            }
        }
    }

    [Fact]
    public void Grace_period_covers_coordinated_shutdown()
    {
        // every phase's timeout, from the node's configuration over Akka's defaults: the longest a clean exit may take
        var config = ClusterConfig("base.conf").WithFallback(ConfigurationFactory.Default());
        var defaultTimeout = config.GetTimeSpan("akka.coordinated-shutdown.default-phase-timeout");
        var phases = config.GetConfig("akka.coordinated-shutdown.phases");
        var worstCase = TimeSpan.Zero;
        foreach (var phase in phases.AsEnumerable())
        {
            var settings = phases.GetConfig(phase.Key);
            if (settings.GetBoolean("enabled", true)) worstCase += settings.GetTimeSpan("timeout", defaultTimeout);
        }
        Assert.True(worstCase > TimeSpan.FromSeconds(30), $"implausible shutdown total {worstCase}");
        foreach (var overlay in new[] { "overlays/cpu", "overlays/gpu" })
        foreach (var workload in ClusterPods(overlay))
        {
            var grace = (int)PodSpec(workload)["terminationGracePeriodSeconds"]!;
            Assert.True(TimeSpan.FromSeconds(grace) >= worstCase, $"{Name(workload)}: {grace} s < CoordinatedShutdown's {worstCase}");
        }
    }

    [Fact]
    public void Probes_use_the_health_endpoints_of_the_api_on_the_coordinator_and_of_the_health_port_on_workers()
    {
        foreach (var overlay in new[] { "overlays/cpu", "overlays/gpu" })
        foreach (var workload in ClusterPods(overlay))
        {
            var container = Containers(workload).Single();
            if (Name(workload) == "pipeline-coordinator")
            {
                Assert.Equal("/readyz", (string)container["readinessProbe"]!["httpGet"]!["path"]!);
                Assert.Equal("/healthz", (string)container["livenessProbe"]!["httpGet"]!["path"]!);
                Assert.Equal("http", (string)container["readinessProbe"]!["httpGet"]!["port"]!);
                Assert.Equal("http", (string)container["livenessProbe"]!["httpGet"]!["port"]!);
            }
            else
            {
                // ready only as an Up member (NodeHealth), not when the remoting port opens
                Assert.Equal("/readyz", (string)container["readinessProbe"]!["httpGet"]!["path"]!);
                Assert.Equal("/healthz", (string)container["livenessProbe"]!["httpGet"]!["path"]!);
                Assert.Equal("health", (string)container["readinessProbe"]!["httpGet"]!["port"]!);
                Assert.Equal("health", (string)container["livenessProbe"]!["httpGet"]!["port"]!);
            }
        }
    }

    [Fact]
    public void Cluster_pods_may_list_pods_in_their_namespace()
    {
        foreach (var overlay in new[] { "overlays/cpu", "overlays/gpu" })
        {
            var objects = manifests.In(overlay).ToList();
            var role = objects.Single(o => Kind(o) == "Role");
            var rule = role["rules"]!.AsArray().Single()!;
            Assert.Equal([""], rule["apiGroups"]!.AsArray().Select(g => (string)g!));
            Assert.Equal(["pods"], rule["resources"]!.AsArray().Select(r => (string)r!));
            Assert.Equal(["get", "list", "watch"], rule["verbs"]!.AsArray().Select(v => (string)v!).Order(StringComparer.Ordinal));
            var binding = objects.Single(o => Kind(o) == "RoleBinding");
            Assert.Equal(Name(role), (string)binding["roleRef"]!["name"]!);
            var account = objects.Single(o => Kind(o) == "ServiceAccount");
            Assert.Equal(Name(account), (string)binding["subjects"]!.AsArray().Single()!["name"]!);
            foreach (var workload in ClusterPods(overlay))
                Assert.Equal(Name(account), (string)PodSpec(workload)["serviceAccountName"]!);
        }
    }

    [Fact]
    public void Every_pod_mounts_the_shared_volume_and_references_objects_that_exist()
    {
        foreach (var overlay in new[] { "overlays/cpu", "overlays/gpu" })
        {
            var objects = manifests.In(overlay).ToList();
            var claim = objects.Single(o => Kind(o) == "PersistentVolumeClaim");
            Assert.Equal(["ReadWriteMany"], claim["spec"]!["accessModes"]!.AsArray().Select(m => (string)m!));
            // the submit Job runs beside an overlay: it may use that overlay's objects
            foreach (var workload in ClusterPods(overlay).Concat(Workloads("submit")))
            {
                var pod = PodSpec(workload);
                foreach (var volume in pod["volumes"]!.AsArray().Select(v => v!.AsObject()))
                {
                    if (volume["persistentVolumeClaim"] is { } pvc) Assert.Equal(Name(claim), (string)pvc["claimName"]!);
                    if (volume["configMap"] is { } map) Assert.Contains(objects, o => Kind(o) == "ConfigMap" && Name(o) == (string)map["name"]!);
                    // the cluster TLS Secret is made with kubectl from `pipeline tls init` output (docs/kubernetes.md), never rendered
                    if (volume["secret"] is { } secret && (string)secret["secretName"]! != "pipeline-cluster-tls")
                        Assert.Contains(objects, o => Kind(o) == "Secret" && Name(o) == (string)secret["secretName"]!);
                }
                var volumeNames = pod["volumes"]!.AsArray().Select(v => (string)v!["name"]!).ToHashSet();
                foreach (var container in Containers(workload))
                {
                    Assert.All(container["volumeMounts"]!.AsArray(), m => Assert.Contains((string)m!["name"]!, volumeNames));
                    var data = container["volumeMounts"]!.AsArray().Single(m => (string)m!["name"]! == "data")!;
                    Assert.Equal("/data", (string)data["mountPath"]!);
                    foreach (var env in Env(container).Values.Where(e => e["valueFrom"]?["secretKeyRef"] is not null))
                        Assert.Contains(objects, o => Kind(o) == "Secret" && Name(o) == (string)env["valueFrom"]!["secretKeyRef"]!["name"]!);
                }
            }
            var coordinator = Containers(One(objects, "StatefulSet", "pipeline-coordinator")).Single();
            Assert.StartsWith("/data/", (string)Env(coordinator)["PIPELINE_STATE_DIR"]["value"]!);
        }
        var submit = Containers(manifests.In("submit").Single(IsWorkload)).Single();
        Assert.StartsWith("/data/", Option(submit, "--corpus"));
        Assert.StartsWith("/data/", Option(submit, "--out"));
    }
}
