using Pipeline.Cluster.Protocol;
using System.Diagnostics;
using Pipeline.Cli.Commands;
using Pipeline.Cluster.Api;

namespace Pipeline.Tests.Api;

/// <summary>`pipeline submit` and `pipeline status` as a user runs them: the real executable against a real node's API.</summary>
public sealed class CliTests
{
    private sealed record CliRun(int ExitCode, string Stdout, string Stderr);

    private static async Task<CliRun> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipeline.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        // the test decides the token, not whoever runs the suite
        foreach (var name in new[] { "PIPELINE_API_URL", "PIPELINE_API_TOKEN", "PIPELINE_API_TOKEN_FILE" }) start.Environment.Remove(name);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return new CliRun(process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Submit_prints_the_job_id_that_the_coordinator_runs()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(3, 5, TimeSpan.FromMilliseconds(10)));
        await node.WaitReadyAsync();
        var run = await RunAsync("submit", "--api", node.BaseAddress.ToString(), "--token", ApiTestNode.Token,
            "--corpus", node.Corpus, "--out", node.Output, "--model", "none", "--splits", "val");

        Assert.True(run.ExitCode == 0, run.Stderr);
        var id = run.Stdout.Trim();
        Assert.Matches("^[0-9a-f]{16}$", id);
        var job = await node.JobAsync();
        Assert.Equal(id, job.JobId);
        Assert.Equal(node.Output, job.Output);
        Assert.Contains($"pipeline status --api {node.BaseAddress} --job {id} --watch", run.Stderr);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Submit_without_token_fails_with_the_apis_message()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(1, 1, TimeSpan.Zero));
        await node.WaitReadyAsync();
        var run = await RunAsync("submit", "--api", node.BaseAddress.ToString(), "--corpus", node.Corpus, "--out", node.Output);

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Equal("pipeline: submit failed: 401 Unauthorized: this request needs an 'Authorization: Bearer <token>' header", run.Stderr.Trim());
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Status_watch_prints_plain_lines_until_the_job_succeeds()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(4, 10, TimeSpan.FromMilliseconds(30)), workerName: "worker-1");
        await node.WaitReadyAsync();
        var id = await node.SubmitAsync();
        var run = await RunAsync("status", "--api", node.BaseAddress.ToString(), "--job", id, "--watch", "--interval", "0.2");

        Assert.True(run.ExitCode == 0, run.Stderr);
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.StartsWith($"job {id} ", lines[0]);
        Assert.Contains(lines, l => l.StartsWith("worker worker-1 [coordinator,worker]", StringComparison.Ordinal));
        var last = lines.Last(l => l.StartsWith("job ", StringComparison.Ordinal));
        Assert.StartsWith($"job {id} succeeded: 4/4 partitions (0 in flight, 0 queued) · 40/40 images (100.0%)", last);
        Assert.Contains(lines, l => l == "quarantined by kind: truncated-jpeg 2");
        Assert.DoesNotContain("\u001b[", run.Stdout);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Status_without_job_lists_every_job_and_with_a_cancelled_job_exits_1()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(4, 100, TimeSpan.FromMilliseconds(50)));
        await node.WaitReadyAsync();
        var first = await node.SubmitAsync();
        var second = await node.SubmitAsync(node.Spec() with { Output = node.Output + "-second" });
        using (var cancel = await node.Client.SendAsync(node.Request(HttpMethod.Delete, "/jobs/" + first))) cancel.EnsureSuccessStatusCode();

        var list = await RunAsync("status", "--api", node.BaseAddress.ToString());
        Assert.True(list.ExitCode == 0, list.Stderr);
        var lines = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith($"{first} cancelled ", lines[0]);
        Assert.EndsWith("cancelled by request", lines[0]);
        Assert.StartsWith($"{second} ", lines[1]);
        Assert.DoesNotContain(" queued ", lines[1]); // the first job's cancel started it

        var one = await RunAsync("status", "--api", node.BaseAddress.ToString(), "--job", first);
        Assert.Equal(1, one.ExitCode);
        Assert.StartsWith($"job {first} cancelled:", one.Stdout);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Status_of_an_unreachable_api_says_so_in_one_line()
    {
        var run = await RunAsync("status", "--api", "http://127.0.0.1:9");
        Assert.Equal(2, run.ExitCode);
        Assert.StartsWith("pipeline: cannot reach the API at http://127.0.0.1:9/", run.Stderr.Trim());
        Assert.DoesNotContain("   at ", run.Stderr);
    }

    [Fact]
    public void Plain_lines_show_job_workers_quarantine_and_error()
    {
        var view = new JobView("0123456789abcdef", JobPhase.Failed, true, "/out", new PartitionCounts(10, 4, 1, 5), 10_000, 4_500, 0.45,
            4_400, 100, 12.5, null, 125, "partition val-Aves-00003 failed 3 times; last error: disk full", null,
            new Dictionary<string, int> { ["truncated-jpeg"] = 60, ["decode"] = 40 }, [],
            [new WorkerView("gpu-1", ["worker", "gpu"], 1, 4_500, 12.5, DateTimeOffset.UnixEpoch, 0.4)]);
        Assert.Equal(
        [
            "job 0123456789abcdef failed: 4/10 partitions (1 in flight, 5 queued) · 4,500/10,000 images (45.0%) · 12.5 img/s · ETA --:-- · 2:05 elapsed · 100 quarantined", // no "ETA done" for a failed job
            "  worker gpu-1 [worker,gpu]: 1 partition(s) · 4,500 images · 12.5 img/s · heartbeat 0.4 s ago",
            "  quarantined by kind: truncated-jpeg 60, decode 40",
            "  error: partition val-Aves-00003 failed 3 times; last error: disk full",
        ], StatusCommand.PlainLines(view));
    }
}
