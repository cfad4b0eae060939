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

    private static async Task<JsonElement> RunCheckAsync(Uri page, string screenshot)
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
        foreach (var arg in new[] { "dashboard-check.mjs", page.ToString(), screenshot, ChromiumFactAttribute.Chromium }) start.ArgumentList.Add(arg);
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

    private static long Number(JsonElement snapshot, string name) =>
        long.Parse(snapshot.GetProperty(name).GetString()!, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    [ChromiumFact]
    public async Task Dashboard_updates_by_itself_while_a_job_runs()
    {
        // two workers, 24 partitions x 30 images x 50 ms: about 18 s of work, so the page sees the job move
        // even when the browser is slow to start on a busy machine (the test ends as soon as the page has changed)
        var services = new PacedJobServices(24, 30, TimeSpan.FromMilliseconds(50));
        await using var node = await ApiTestNode.StartAsync(services, workerName: "worker-1");
        var second = await node.AddWorkerAsync(services, "worker-2");
        try
        {
            await node.WaitReadyAsync();
            await node.WaitForWorkersAsync(2);
            var id = await node.SubmitAsync();
            await node.WaitForAsync(j => j.ImagesDone > 0, TimeSpan.FromSeconds(20), "the job starting");

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
        }
        finally
        {
            await second.StopAsync(CancellationToken.None);
            second.Dispose();
        }
    }
}
