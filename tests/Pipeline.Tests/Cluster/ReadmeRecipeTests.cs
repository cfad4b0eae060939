using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Pipeline.Tests.Kubernetes;
using Pipeline.Tests.Reliability;
using Xunit.Abstractions;
using static Pipeline.Tests.Cluster.ClusterTestSupport;

namespace Pipeline.Tests.Cluster;

/// <summary>
/// README's "A three-node cluster on one machine", line by line as a user types it into bash (with `pipeline` being the
/// built CLI): a coordinator, two workers and a submit must form a cluster and finish the job. Only the fixed ports are
/// swapped for free ones, so that runs side by side never collide; each line runs once the node before it says it is up.
/// </summary>
[Trait("Category", "Processes")]
[Trait("Category", "Slow")]
[Collection(ProcessFaultsCollection.Name)]
public sealed class ReadmeRecipeTests(SmallCorpusFixture corpus, ITestOutputHelper log) : IClassFixture<SmallCorpusFixture>, IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-readme-").FullName;
    private readonly List<Process> _background = [];

    public void Dispose()
    {
        foreach (var process in _background)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
            process.Dispose();
        }
        Directory.Delete(_work, recursive: true);
    }

    /// <summary>The indented command lines under a README heading, up to the first prose line.</summary>
    public static List<string> RecipeLines(string heading)
    {
        var lines = File.ReadAllLines(RepositoryTree.PathOf("README.md"));
        var start = Array.IndexOf(lines, heading);
        Assert.True(start >= 0, $"README has no '{heading}'");
        var recipe = new List<string>();
        foreach (var line in lines.Skip(start + 1))
        {
            if (line.StartsWith("    ", StringComparison.Ordinal)) recipe.Add(line.Trim());
            else if (line.Length > 0 && recipe.Count > 0) break;
        }
        return recipe;
    }

    private sealed class Shell(Process process, StringBuilder output)
    {
        public Process Process { get; } = process;
        public string Output { get { lock (output) return output.ToString(); } }
    }

    private Shell Bash(string line, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _work };
        var cli = Path.Combine(AppContext.BaseDirectory, "pipeline.dll");
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add($"pipeline() {{ exec dotnet '{cli}' \"$@\"; }}\n{line}");
        info.Environment["PIPELINE_CONFIG_DIR"] = Path.Combine(AppContext.BaseDirectory, "cluster-config");
        info.Environment["NO_COLOR"] = "1";
        info.Environment["PWD"] = _work;
        foreach (var (key, value) in environment) info.Environment[key] = value;
        var output = new StringBuilder();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new Shell(process, output);
    }

    [Fact]
    public async Task Three_node_recipe_as_written_forms_a_cluster_and_finishes_the_job()
    {
        var recipe = RecipeLines("## A three-node cluster on one machine");
        Assert.Equal(6, recipe.Count);
        // the README's corpus is $PWD/corpus: a link to the test's generated one
        Directory.CreateSymbolicLink(Path.Combine(_work, "corpus"), corpus.Root);
        var ports = new Dictionary<string, string>();
        foreach (var port in new[] { "4053", "4054", "4055", "8080" }) ports[port] = FreePort().ToString();
        var environment = new Dictionary<string, string>();
        var nodes = new List<Shell>();
        var clock = Stopwatch.StartNew();
        Shell? last = null;
        foreach (var written in recipe)
        {
            var line = Regex.Replace(written, @"\b(4053|4054|4055|8080)\b", m => ports[m.Value]);
            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                var assignment = line["export ".Length..].Split('#')[0].Trim().Split('=', 2);
                environment[assignment[0]] = assignment[1];
                continue;
            }
            var command = line.Split(" #")[0].Trim();
            if (command.EndsWith('&'))
            {
                var node = Bash(command.TrimEnd('&'), environment);
                _background.Add(node.Process);
                nodes.Add(node);
                // a user types the next line once the node says it is up
                var started = Stopwatch.StartNew();
                while (!node.Output.Contains("up with roles", StringComparison.Ordinal))
                {
                    Assert.False(node.Process.HasExited, $"'{written}' exited:\n{node.Output}");
                    Assert.True(started.Elapsed < TimeSpan.FromSeconds(90), $"'{written}' never came up:\n{node.Output}");
                    await Task.Delay(50);
                }
                continue;
            }
            last = Bash(command, environment);
            _background.Add(last.Process);
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
            try { await last.Process.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException) { Assert.Fail($"'{written}' did not finish:\n{last.Output}\n{string.Join("\n----\n", nodes.Select(n => n.Output))}"); }
            Assert.True(last.Process.ExitCode == 0, $"'{written}' exited {last.Process.ExitCode}:\n{last.Output}\n----\n{string.Join("\n----\n", nodes.Select(n => n.Output[^Math.Min(3000, n.Output.Length)..]))}");
        }
        log.WriteLine($"recipe done in {clock.Elapsed.TotalSeconds:F1} s; status said:\n{last!.Output[^Math.Min(1500, last.Output.Length)..]}");

        Assert.Equal(3, nodes.Count);
        Assert.Contains("succeeded", last.Output);
        foreach (var node in nodes) Assert.DoesNotContain("pipeline@0.0.0.0", node.Output);
        Assert.Contains("Welcome from", nodes[1].Output);
        Assert.Contains("Welcome from", nodes[2].Output);
        var (rows, distinct) = CountImages(Path.Combine(_work, "out", "dataset"));
        Assert.Equal(corpus.Images, rows);
        Assert.Equal(rows, distinct);
        // both workers did part of the job
        var journal = Journal(Path.Combine(_work, "out"));
        Assert.Contains(journal, e => e.Kind == Pipeline.Jobs.JournalEntry.Committed && e.Worker == "w1");
        Assert.Contains(journal, e => e.Kind == Pipeline.Jobs.JournalEntry.Committed && e.Worker == "w2");
    }
}
