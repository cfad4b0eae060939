using Pipeline.Cluster.Protocol;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Pipeline.Tests.Api;

namespace Pipeline.Tests.Dashboard;

/// <summary>Runs only where Debian's chromium is installed (apt-get install -y chromium); skipped with that message elsewhere.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string Chromium = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(Chromium)) Skip = $"{Chromium} is absent: apt-get install -y chromium to run the dashboard's browser test";
    }
}

/// <summary>The dashboard in a real headless browser (chromium driven by playwright-core) while a job runs on a real node.</summary>
[Trait("Category", "Slow")]
public sealed class DashboardTests
{
    private static string ScriptDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Pipeline.Tests", "Dashboard");
            if (File.Exists(Path.Combine(candidate, "dashboard-check.mjs"))) return candidate;
        }
        throw new FileNotFoundException("tests/Pipeline.Tests/Dashboard/dashboard-check.mjs not found above " + AppContext.BaseDirectory);
    }

    private static async Task<JsonElement> RunCheckAsync(Uri page, string screenshot, string mode = "live", string token = "")
    {
        var scripts = ScriptDirectory();
        Assert.True(Directory.Exists(Path.Combine(scripts, "node_modules", "playwright-core")),
            $"playwright-core is not installed: npm ci --prefix {scripts}");
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = scripts,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "dashboard-check.mjs", page.ToString(), screenshot, ChromiumFactAttribute.Chromium, mode, token }) start.ArgumentList.Add(arg);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the browser check did not finish in 90 s: " + await stderr);
        }
        Assert.True(process.ExitCode == 0, $"dashboard-check.mjs exited {process.ExitCode}: {await stderr}");
        var lines = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return JsonDocument.Parse(lines[^1]).RootElement.Clone();
    }

    /// <summary>Runs <paramref name="check"/> on a node with two workers (worker-1 on the node, worker-2) once its job has started.</summary>
    private static async Task WithRunningJobAsync(PacedJobServices services, Func<ApiTestNode, string, Task> check)
    {
        await using var node = await ApiTestNode.StartAsync(services, workerName: "worker-1");
        var second = await node.AddWorkerAsync(services, "worker-2");
        try
        {
            await node.WaitReadyAsync();
            await node.WaitForWorkersAsync(2);
            var id = await node.SubmitAsync();
            await node.WaitForAsync(j => j.ImagesDone > 0, TimeSpan.FromSeconds(20), "the job starting");
            await check(node, id);
        }
        finally
        {
            await second.StopAsync(CancellationToken.None);
            second.Dispose();
        }
    }

    private static long Number(JsonElement snapshot, string name) =>
        long.Parse(snapshot.GetProperty(name).GetString()!, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    [ChromiumFact]
    public async Task Dashboard_updates_by_itself_while_a_job_runs()
    {
        // two workers, 24 partitions x 30 images x 50 ms: about 18 s of work, so the page sees the job move
        // even when the browser is slow to start on a busy machine (the test ends as soon as the page has changed)
        var services = new PacedJobServices(24, 30, TimeSpan.FromMilliseconds(50));
        await WithRunningJobAsync(services, async (node, id) =>
        {
            var screenshot = Path.Combine(AppContext.BaseDirectory, "dashboard-screenshots", "dashboard-running.png");
            Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
            File.Delete(screenshot);
            var result = await RunCheckAsync(node.BaseAddress, screenshot);
            var first = result.GetProperty("first");
            var later = result.GetProperty("later");

            Assert.Equal(id, first.GetProperty("jobId").GetString());
            Assert.Equal("running", first.GetProperty("state").GetString());
            Assert.Equal(720, Number(first, "imagesTotal"));
            // the numbers moved without a reload
            Assert.True(Number(later, "imagesDone") > Number(first, "imagesDone"),
                $"images done stayed at {Number(first, "imagesDone")}");
            Assert.True(later.GetProperty("updates").GetInt32() > first.GetProperty("updates").GetInt32());
            Assert.Equal("live", later.GetProperty("connection").GetString());
            Assert.Equal(["worker-1", "worker-2"], later.GetProperty("workers").EnumerateArray().Select(w => w.GetString()!).ToArray());
            // the histograms fill in as partitions commit: bars drawn in SVG from the JSON
            Assert.True(later.GetProperty("histogramCharts").GetInt32() >= 1);
            Assert.True(later.GetProperty("histogramBars").GetInt32() > 0);

            // nothing loads from anywhere but the coordinator, and the page's script raised no error
            var origin = node.BaseAddress.GetLeftPart(UriPartial.Authority);
            Assert.All(result.GetProperty("requests").EnumerateArray(), r => Assert.StartsWith(origin, r.GetString()));
            Assert.Empty(result.GetProperty("consoleErrors").EnumerateArray());
            Assert.Empty(result.GetProperty("pageErrors").EnumerateArray());
            Assert.True(new FileInfo(screenshot).Length > 20_000, "the screenshot is suspiciously small");
        });
    }

    private static string Screenshot(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "dashboard-screenshots", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Delete(path);
        return path;
    }

    [ChromiumFact]
    public async Task A_reload_mid_job_shows_the_coordinators_events_and_series_and_the_end_shows_the_average()
    {
        // 16 partitions x 30 images x 40 ms on two workers: about 10 s of work, so the page reloads mid-job
        var services = new PacedJobServices(16, 30, TimeSpan.FromMilliseconds(40));
        await WithRunningJobAsync(services, async (node, id) =>
        {
            var result = await RunCheckAsync(node.BaseAddress, Screenshot("dashboard-reloaded.png"), "reload");
            var reloadedAt = DateTimeOffset.Parse(result.GetProperty("reloadedAt").GetString()!, CultureInfo.InvariantCulture);
            var after = result.GetProperty("afterReload");
            var end = result.GetProperty("end");
            var job = await node.JobAsync("/jobs/" + id);

            // after the reload the page shows the coordinator's log, each event at the time it happened (before the reload)
            var events = after.GetProperty("events").EnumerateArray().ToArray();
            Assert.NotEmpty(events);
            var queued = events.Last(); // newest first: the oldest, the queueing, is last
            Assert.Contains($"job {id} queued", queued.GetProperty("text").GetString());
            var queuedAt = DateTimeOffset.Parse(queued.GetProperty("at").GetString()!, CultureInfo.InvariantCulture);
            Assert.Equal(job.Events[0].At, queuedAt);
            Assert.Equal(job.SubmittedAt, queuedAt);
            Assert.True(queuedAt < reloadedAt, $"the queued event is stamped {queuedAt:O}, after the reload at {reloadedAt:O}");
            Assert.Contains(events, e => e.GetProperty("text").GetString()!.Contains("job running"));
            // and the throughput series, drawn with labelled axes
            Assert.True(after.GetProperty("chartPoints").GetInt32() >= 1, "no throughput sample after the reload");
            Assert.Equal(1, after.GetProperty("chartLines").GetInt32());
            Assert.Equal(3, after.GetProperty("yTicks").GetArrayLength());
            Assert.Equal(3, after.GetProperty("xTicks").GetArrayLength());
            var titles = after.GetProperty("axisTitles").EnumerateArray().Select(t => t.GetString()).ToArray();
            Assert.Contains("images/s", titles);
            Assert.Contains("time", titles);

            // the finished job: its average over its wall time, as the API computes it from images and wall time
            Assert.Equal(JobPhase.Succeeded, job.State);
            Assert.Equal(480, job.ImagesDone);
            Assert.Equal(job.ImagesDone / job.ElapsedSeconds, job.AverageImagesPerSecond, 9);
            Assert.Equal((job.FinishedAt!.Value - job.StartedAt!.Value).TotalSeconds, job.ElapsedSeconds, 6);
            Assert.Equal("average throughput", end.GetProperty("rateLabel").GetString());
            Assert.Equal("wall time", end.GetProperty("elapsedLabel").GetString());
            Assert.Equal(job.AverageImagesPerSecond.ToString("N1", CultureInfo.InvariantCulture), end.GetProperty("rate").GetString());
            Assert.True(job.AverageImagesPerSecond > 1, $"average {job.AverageImagesPerSecond}");
            Assert.Contains(end.GetProperty("events").EnumerateArray(), e => e.GetProperty("text").GetString()!.Contains("job succeeded"));
            Assert.False(end.GetProperty("cancelShown").GetBoolean());
            // per-worker images are this job's: together exactly the job's images
            Assert.Equal(480, job.Workers.Sum(w => w.ImagesDone));
            Assert.Empty(result.GetProperty("consoleErrors").EnumerateArray());
            Assert.Empty(result.GetProperty("pageErrors").EnumerateArray());
        });
    }

    [ChromiumFact]
    public async Task The_cancel_button_asks_for_the_token_and_cancels_the_running_job()
    {
        // long enough (each partition 2,000 x 50 ms) that it cannot end on a many-core machine before the browser clicks;
        // cancelling stops the paced work at once
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(4, 2000, TimeSpan.FromMilliseconds(50)));
        await node.WaitReadyAsync();
        var id = await node.SubmitAsync();
        await node.WaitForAsync(j => j.ImagesDone > 0, TimeSpan.FromSeconds(20), "the job starting");

        var result = await RunCheckAsync(node.BaseAddress, Screenshot("dashboard-cancel.png"), "cancel", ApiTestNode.Token);
        var end = result.GetProperty("end");
        Assert.Equal(["confirm", "prompt"], result.GetProperty("dialogs").EnumerateArray().Select(d => d.GetString()!).ToArray());
        Assert.Equal($"job {id} cancelled", end.GetProperty("cancelResult").GetString());
        Assert.Equal("cancelled", end.GetProperty("state").GetString());
        var job = await node.JobAsync("/jobs/" + id);
        Assert.Equal(JobPhase.Cancelled, job.State);
        Assert.Contains(job.Events, e => e.Kind == "bad" && e.Text.Contains("cancelled by request"));
        Assert.Empty(result.GetProperty("pageErrors").EnumerateArray());
    }
}
