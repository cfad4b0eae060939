using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace Pipeline.Tests.Architecture;

/// <summary>
/// The layout holds: no two namespaces of the product use each other (directly or through others), and what a worker or
/// the coordinator loads (Pipeline.Core, Pipeline.Cluster) references neither charting nor ML.NET.
/// </summary>
public sealed class NamespaceCycleTests
{
    // the product: every pipeline assembly next to the tests, so a new project is checked without editing this list
    private static IReadOnlyList<string> ProductAssemblies() => Directory
        .EnumerateFiles(AppContext.BaseDirectory, "*.dll")
        .Where(path => Path.GetFileName(path) is var name
            && name.StartsWith("Pipeline", StringComparison.OrdinalIgnoreCase)
            && !name.Equals("Pipeline.Tests.dll", StringComparison.OrdinalIgnoreCase))
        .Order(StringComparer.Ordinal)
        .ToList();

    private static bool IsProductNamespace(string ns) =>
        ns.StartsWith("Pipeline", StringComparison.Ordinal) && !ns.StartsWith("Pipeline.Tests", StringComparison.Ordinal);

    [Fact]
    public void Product_namespaces_have_no_cycles()
    {
        var assemblies = ProductAssemblies();
        Assert.Subset(assemblies.Select(Path.GetFileName).ToHashSet(),
            new HashSet<string?> { "Pipeline.Core.dll", "Pipeline.Analysis.dll", "Pipeline.Synth.dll", "Pipeline.Cluster.dll", "pipeline.dll" });

        var graph = NamespaceGraph.FromAssemblies(assemblies, IsProductNamespace);

        // the graph is read, not empty: the stages use the row schema, the node pipeline uses the job model
        Assert.Contains("Pipeline.Schema", graph.Edges["Pipeline.Storage"]);
        Assert.Contains("Pipeline.Jobs", graph.Edges["Pipeline.Processing"]);
        var cycles = graph.Cycles();
        Assert.True(cycles.Count == 0, "namespaces that use each other:\n" + string.Join("\n",
            cycles.Select(c => string.Join(" <-> ", c) + "\n  " + string.Join("\n  ", graph.Explain(c)))));
    }

    [Fact]
    public void Cycle_check_finds_a_cycle_in_compiled_code()
    {
        string samples = typeof(CycleSample.Left.Order).Namespace![..^".Left".Length];
        var graph = NamespaceGraph.FromAssemblies([typeof(NamespaceCycleTests).Assembly.Location],
            ns => ns.StartsWith(samples, StringComparison.Ordinal));

        var cycle = Assert.Single(graph.Cycles());
        Assert.Equal([samples + ".Left", samples + ".Right"], cycle);
        // Right uses Left only inside a lambda's body (a compiler-generated closure nested in Invoice)
        Assert.Contains(graph.Explain(cycle), edge => edge.StartsWith(samples + ".Right -> " + samples + ".Left (e.g. Invoice uses Order"));
        // Leaf is used by both and uses nothing: it is in no cycle
        Assert.Empty(graph.Edges[samples + ".Leaf"]);
    }

    [Fact]
    public void Cycle_check_finds_every_cycle_in_a_small_graph()
    {
        var graph = NamespaceGraph.FromEdges([
            ("a", "b"), ("b", "c"), ("c", "a"), // a -> b -> c -> a
            ("c", "d"), ("d", "e"),             // d and e hang below the cycle
            ("x", "y"), ("y", "x"),             // a second, separate cycle
            ("e", "e"),                         // a namespace using itself is no cycle
        ]);

        var cycles = graph.Cycles();

        Assert.Equal(2, cycles.Count);
        Assert.Equal(["a", "b", "c"], cycles[0]);
        Assert.Equal(["x", "y"], cycles[1]);
        Assert.Empty(NamespaceGraph.FromEdges([("a", "b"), ("b", "c"), ("a", "c")]).Cycles());
    }

    [Theory]
    [InlineData("Pipeline.Core.dll")]
    [InlineData("Pipeline.Cluster.dll")]
    public void Stages_and_cluster_reference_no_charting_ml_net_or_analysis(string assembly)
    {
        var references = AssemblyReferences(Path.Combine(AppContext.BaseDirectory, assembly));

        Assert.Contains("Pipeline.Core", references.Append(Path.GetFileNameWithoutExtension(assembly)));
        Assert.DoesNotContain(references, IsChartingOrMlNet);
        Assert.DoesNotContain(references, name => name is "Pipeline.Analysis" or "Pipeline.Synth");
        if (assembly == "Pipeline.Core.dll")
            Assert.DoesNotContain(references, name => name.StartsWith("Akka", StringComparison.Ordinal));
    }

    [Fact]
    public void Reference_check_sees_charting_and_ml_net_where_they_are_used()
    {
        var references = AssemblyReferences(Path.Combine(AppContext.BaseDirectory, "Pipeline.Analysis.dll"));

        Assert.Contains("ScottPlot", references);
        Assert.Contains(references, name => name.StartsWith("Microsoft.ML", StringComparison.Ordinal) && IsChartingOrMlNet(name));
        // ONNX Runtime (Microsoft.ML.OnnxRuntime) is the stages' own engine, not ML.NET
        Assert.False(IsChartingOrMlNet("Microsoft.ML.OnnxRuntime"));
    }

    private static bool IsChartingOrMlNet(string name) =>
        name.StartsWith("ScottPlot", StringComparison.Ordinal)
        || name == "Microsoft.ML"
        || (name.StartsWith("Microsoft.ML.", StringComparison.Ordinal) && !name.StartsWith("Microsoft.ML.OnnxRuntime", StringComparison.Ordinal));

    private static IReadOnlyList<string> AssemblyReferences(string path)
    {
        using var pe = new PEReader(File.OpenRead(path));
        var reader = pe.GetMetadataReader();
        return reader.AssemblyReferences.Select(h => reader.GetString(reader.GetAssemblyReference(h).Name)).ToList();
    }
}
