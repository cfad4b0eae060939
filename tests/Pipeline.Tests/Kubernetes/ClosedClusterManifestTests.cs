using System.Text.Json.Nodes;
using Pipeline.Cluster.Remoting;
using static Pipeline.Tests.Kubernetes.RenderedManifests;

namespace Pipeline.Tests.Kubernetes;

/// <summary>The manifests' side of a closed cluster: the TLS Secret mounted where PIPELINE_TLS_* point, the network policies, readiness from membership.</summary>
[Collection(RenderedManifestsCollection.Name)]
[Trait("Category", "Slow")]
public class ClosedClusterManifestTests(RenderedManifests manifests)
{
    private static readonly string[] Overlays = ["overlays/cpu", "overlays/gpu"];

    private IEnumerable<JsonObject> ClusterPods(string overlay) => manifests.In(overlay).Where(IsWorkload).Where(IsClusterMember);

    [Fact]
    public void Every_cluster_pod_mounts_the_tls_secret_where_the_tls_variables_point()
    {
        var files = new ClusterCertificateFiles("/x");
        foreach (var overlay in Overlays)
        foreach (var workload in ClusterPods(overlay))
        {
            var volume = PodSpec(workload)["volumes"]!.AsArray().Single(v => (string?)v!["secret"]?["secretName"] == "pipeline-cluster-tls")!;
            var container = Containers(workload).Single();
            var mount = container["volumeMounts"]!.AsArray().Single(m => (string)m!["name"]! == (string)volume["name"]!)!;
            Assert.True((bool)mount["readOnly"]!);
            var env = Env(container);
            var folder = (string)mount["mountPath"]!;
            Assert.Equal(Path.Combine(folder, Path.GetFileName(files.NodeCertificate)), (string)env[RemoteTls.CertificateVariable]["value"]!);
            Assert.Equal(Path.Combine(folder, Path.GetFileName(files.NodePassword)), (string)env[RemoteTls.PasswordFileVariable]["value"]!);
            Assert.Equal(Path.Combine(folder, Path.GetFileName(files.CaCertificate)), (string)env[RemoteTls.CaVariable]["value"]!);
            // binding beyond loopback is allowed only because TLS is on
            Assert.Equal("0.0.0.0", Option(container, "--hostname"));
            Assert.DoesNotContain("--insecure", Args(container));
        }
    }

    [Fact]
    public void Only_pipeline_pods_reach_the_cluster_port_and_only_named_pods_reach_the_api()
    {
        foreach (var overlay in Overlays)
        {
            var objects = manifests.In(overlay).ToList();
            var cluster = One(objects, "NetworkPolicy", "pipeline-cluster")["spec"]!;
            Assert.Equal("pipeline", (string)cluster["podSelector"]!["matchLabels"]!["akka-cluster"]!);
            Assert.Equal(["Ingress"], cluster["policyTypes"]!.AsArray().Select(t => (string)t!));
            var rules = cluster["ingress"]!.AsArray();
            var remoting = rules.Single(r => r!["ports"]!.AsArray().Any(p => (string)p!["port"]! == "remoting"))!;
            var from = remoting["from"]!.AsArray().Single()!;
            Assert.Equal(new Dictionary<string, string> { ["akka-cluster"] = "pipeline" }, Labels(from["podSelector"]!["matchLabels"]));
            Assert.Null(from["namespaceSelector"]);
            // the rule open to all carries only the probe port
            Assert.All(rules.Where(r => r!["from"] is null), r => Assert.Equal(["health"], r!["ports"]!.AsArray().Select(p => (string)p!["port"]!)));

            var api = One(objects, "NetworkPolicy", "pipeline-api")["spec"]!;
            var selector = Labels(api["podSelector"]!["matchLabels"]);
            var selected = objects.Where(IsWorkload).Where(w => selector.All(p => Labels(PodTemplate(w)["metadata"]!["labels"]).GetValueOrDefault(p.Key) == p.Value));
            Assert.Equal(["pipeline-coordinator"], selected.Select(Name));
            var apiRule = api["ingress"]!.AsArray().Single()!;
            Assert.Equal(["http"], apiRule["ports"]!.AsArray().Select(p => (string)p!["port"]!));
            var allowed = apiRule["from"]!.AsArray().Select(f => Labels(f!["podSelector"]!["matchLabels"])).ToList();
            Assert.All(apiRule["from"]!.AsArray(), f => Assert.Null(f!["namespaceSelector"]));
            // the submit Job is one of the named clients; the cluster's own workers are not
            var submitLabels = Labels(PodTemplate(manifests.In("submit").Single(IsWorkload))["metadata"]!["labels"]);
            Assert.Contains(allowed, a => a.All(p => submitLabels.GetValueOrDefault(p.Key) == p.Value));
            foreach (var worker in ClusterPods(overlay).Where(w => Name(w) != "pipeline-coordinator"))
            {
                var labels = Labels(PodTemplate(worker)["metadata"]!["labels"]);
                Assert.DoesNotContain(allowed, a => a.All(p => labels.GetValueOrDefault(p.Key) == p.Value));
            }
        }
    }

    [Fact]
    public void Workers_are_ready_only_as_up_members_through_readyz()
    {
        foreach (var overlay in Overlays)
        foreach (var worker in ClusterPods(overlay).Where(w => Name(w) != "pipeline-coordinator"))
        {
            var container = Containers(worker).Single();
            var readiness = container["readinessProbe"]!["httpGet"]!;
            Assert.Equal("/readyz", (string)readiness["path"]!);
            Assert.Null(container["readinessProbe"]!["tcpSocket"]);
            var port = ContainerPort(container, (string)readiness["port"]!);
            Assert.Equal(port, new Uri(((string)Env(container)["PIPELINE_HEALTH_URLS"]["value"]!).Replace("0.0.0.0", "host")).Port);
        }
    }
}
