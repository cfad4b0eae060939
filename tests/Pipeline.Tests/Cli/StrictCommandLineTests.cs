using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Pipeline.Tests.Cli;

/// <summary>
/// The command line is strict and consistent: every command refuses an unknown option and a stray argument by name
/// with exit code 2 before it writes anything, and every command's help describes every option.
/// </summary>
[Trait("Category", "Slow")]
public sealed partial class StrictCommandLineTests : IDisposable
{
    private readonly string _cwd = Directory.CreateTempSubdirectory("pipeline-strict-").FullName;

    public void Dispose() => Directory.Delete(_cwd, recursive: true);

    public static TheoryData<string[]> Commands() =>
    [
        ["synth"], ["stats"], ["run"], ["node"], ["submit"], ["status"], ["bench", "embed"], ["bench", "partitions"],
        ["report"], ["probe"], ["sql"], ["export"],
    ];

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Every_command_refuses_an_unknown_option_by_name_with_exit_code_2_and_writes_nothing(string[] command)
    {
        var result = await Pipeline([.. command, "--corpse", "x"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Unknown option 'corpse'", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_cwd));
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Every_command_refuses_a_stray_argument_by_name(string[] command)
    {
        foreach (string[] stray in (string[][])[["--", "leftover"], ["leftover"], ["--help-me", "leftover"]])
        {
            // `sql` takes one word, the query: a stray word is a second one
            string[] query = command[0] == "sql" ? ["SELECT 1"] : [];
            var result = await Pipeline([.. command, .. query, .. stray]);
            Assert.Equal(2, result.ExitCode);
            Assert.Contains(stray[0] == "--help-me" ? "'help-me'" : "'leftover'", result.Error);
            Assert.Empty(Directory.EnumerateFileSystemEntries(_cwd));
        }
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Every_command_has_help_that_describes_every_option(string[] command)
    {
        var result = await Pipeline([.. command, "--help"]);
        Assert.Equal(0, result.ExitCode);
        var lines = result.Output.Split('\n').Select(l => l.TrimEnd()).ToList();
        int options = lines.FindIndex(l => l.StartsWith("OPTIONS", StringComparison.Ordinal));
        Assert.True(options >= 0, result.Output);
        var descriptions = new List<(string Name, string Text)>();
        foreach (var line in lines.Skip(options + 1).TakeWhile(l => l.Length > 0))
        {
            var match = OptionLine().Match(line);
            if (match.Success) descriptions.Add((match.Groups["name"].Value, match.Groups["text"].Value));
            else if (descriptions.Count > 0) descriptions[^1] = (descriptions[^1].Name, descriptions[^1].Text + " " + line.Trim());
        }
        Assert.True(descriptions.Count >= 2, result.Output);
        var where = $"`pipeline {string.Join(' ', command)} --help`";
        foreach (var (name, text) in descriptions)
        {
            Assert.False(string.IsNullOrWhiteSpace(text), $"{where}: {name} has no description");
            // "holding a.json, b.json, ..." loses its "..." to the trimmed final period and stops mid-sentence
            Assert.False(text.TrimEnd().EndsWith(','), $"{where}: the description of {name} stops mid-sentence: {text}");
        }
    }

    [Fact]
    public async Task Submit_help_states_corpus_and_out_as_required_not_run_defaults()
    {
        var submit = await Pipeline(["submit", "--help"]);
        Assert.DoesNotContain("pipeline-output", submit.Output);
        Assert.DoesNotContain("demo", submit.Output);
        var run = await Pipeline(["run", "--help"]);
        Assert.Contains("pipeline-output", run.Output);
        Assert.Contains("demo corpus", run.Output);
    }

    [Theory]
    [InlineData(new[] { "synth", "--out", "corpus", "--scale", "2" }, "--scale 2")]
    [InlineData(new[] { "synth", "--out", "corpus", "--scale", "abc" }, "--scale abc")]
    [InlineData(new[] { "run", "--image-size", "0" }, "--image-size")]
    [InlineData(new[] { "run", "--decoder", "vips" }, "--decoder vips")]
    [InlineData(new[] { "run", "--batch", "1.5" }, "--batch 1.5")]
    [InlineData(new[] { "probe", "--dataset", "x", "--iterations", "0" }, "--iterations 0")]
    [InlineData(new[] { "submit", "--api", "http://127.0.0.1:9", "--corpus", "corpus", "--out", "/data/out" }, "--corpus corpus is a relative path")]
    [InlineData(new[] { "export", "--dataset", "d", "--out", "s", "--shard-size", "0" }, "--shard-size 0")]
    public async Task A_value_out_of_range_is_one_plain_line_naming_the_option(string[] args, string named)
    {
        var result = await Pipeline(args);
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("pipeline: ", line);
        Assert.Contains(named, line);
        Assert.DoesNotContain("Parameter", line);
        Assert.DoesNotContain("Actual value", line);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_cwd));
    }

    [Theory]
    [InlineData("stats", "--corpus")]
    [InlineData("report", "--dataset")]
    [InlineData("probe", "--dataset")]
    [InlineData("export", "--dataset")]
    public async Task A_missing_folder_is_bad_input_with_exit_code_2_from_every_command(string command, string option)
    {
        var missing = Path.Combine(_cwd, "no-such-folder");
        string[] args = command == "export" ? [command, option, missing, "--out", Path.Combine(_cwd, "shards")] : [command, option, missing];
        var result = await Pipeline(args);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(missing, result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_cwd));
    }

    [Fact]
    public async Task A_malformed_failpoint_stops_the_node_naming_the_variable()
    {
        var result = await Pipeline(["node", "--role", "coordinator,worker", "--local"],
            new Dictionary<string, string> { [Failpoints.Variable] = "merge.manifest-writen=100" });
        Assert.Equal(2, result.ExitCode);
        Assert.Contains($"{Failpoints.Variable}: 'merge.manifest-writen=100'", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Theory]
    [InlineData("foreign file", "did not write (README.txt)")]
    [InlineData("bad variable", "PIPELINE_LEASE must be a duration")]
    [InlineData("bad failpoint", "PIPELINE_FAILPOINTS: 'merge.manifest-writen=1'")]
    [InlineData("missing config", "configuration file")]
    [InlineData("missing model", "model file")]
    public async Task A_refused_run_without_corpus_writes_no_demo_corpus(string why, string expected)
    {
        var outDir = Path.Combine(_cwd, "out");
        string[] args = ["run", "--out", outDir];
        var environment = new Dictionary<string, string>();
        switch (why)
        {
            case "foreign file":
                Directory.CreateDirectory(outDir);
                File.WriteAllText(Path.Combine(outDir, "README.txt"), "mine");
                break;
            case "bad variable": environment["PIPELINE_LEASE"] = "soon"; break;
            case "bad failpoint": environment[Failpoints.Variable] = "merge.manifest-writen=1"; break;
            case "missing config": args = [.. args, "--config", Path.Combine(_cwd, "nowhere.conf")]; break;
            case "missing model": args = [.. args, "--model", Path.Combine(_cwd, "nowhere.onnx")]; break;
        }
        var result = await Pipeline(args, environment);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        // the refusal comes before the demo corpus is generated into the folder: it holds what it held
        Assert.DoesNotContain("demo corpus", result.Output);
        if (why == "foreign file") Assert.Equal(["README.txt"], Directory.GetFileSystemEntries(outDir).Select(Path.GetFileName));
        else Assert.Empty(Directory.EnumerateFileSystemEntries(_cwd));
    }

    [GeneratedRegex(@"^\s{4,}(?:-\w, )?(?<name>--[\w-]+)(?: <[^>]+>)?\s*(?<text>.*)$")]
    private static partial Regex OptionLine();

    private sealed record CliResult(int ExitCode, string Output, string Error);

    /// <summary>The real `pipeline` executable, run in an empty folder so that anything it writes shows.</summary>
    private async Task<CliResult> Pipeline(string[] args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = _cwd,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipeline.dll"));
        foreach (var arg in args) info.ArgumentList.Add(arg);
        info.Environment["PIPELINE_CONFIG_DIR"] = Path.Combine(AppContext.BaseDirectory, "cluster-config");
        info.Environment["COLUMNS"] = "200";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new CliResult(process.ExitCode, await output, await error);
    }
}
