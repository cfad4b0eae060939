using System.Globalization;
using System.Text.RegularExpressions;

namespace Pipeline.Tests.Api;

/// <summary>GET /metrics: prometheus-net's text exposition of gauges set from the coordinator's status.</summary>
[Trait("Category", "Slow")]
public sealed class MetricsTests
{
    private static double Sample(string text, string series)
    {
        var match = Regex.Match(text, "^" + Regex.Escape(series) + " (\\S+)$", RegexOptions.Multiline);
        Assert.True(match.Success, $"no sample {series} in:\n{text}");
        return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Metrics_expose_the_finished_jobs_figures_as_gauges()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(4, 5, TimeSpan.FromMilliseconds(5)), workerName: "worker-1");
        await node.WaitReadyAsync();
        await node.SubmitAsync();
        // the worker's own count arrives with its next heartbeat (every second), after its last commit
        var done = await node.WaitForAsync(j => j.Finished && j.Workers.Single().ImagesDone == 20, TimeSpan.FromSeconds(20),
            "the end of the job and the worker's heartbeat after it");

        using var response = await node.Client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("# TYPE pipeline_images_done_total gauge", text);
        Assert.Equal(done.ImagesDone, Sample(text, "pipeline_images_done_total"));
        Assert.Equal(20, Sample(text, "pipeline_images_planned"));
        Assert.Equal(4, Sample(text, "pipeline_partitions{state=\"committed\"}"));
        Assert.Equal(0, Sample(text, "pipeline_partitions{state=\"queued\"}"));
        Assert.Equal(1, Sample(text, "pipeline_job_state{state=\"succeeded\"}"));
        Assert.Equal(0, Sample(text, "pipeline_job_state{state=\"running\"}"));
        Assert.Equal(2, Sample(text, "pipeline_quarantined_total{kind=\"truncated-jpeg\"}"));
        Assert.Equal(1, Sample(text, "pipeline_coordinator_reachable"));
        Assert.Equal(20, Sample(text, "pipeline_worker_images_done_total{worker=\"worker-1\"}"));
        Assert.Contains("pipeline_worker_images_per_second{worker=\"worker-1\"}", text);
        Assert.Contains("pipeline_images_per_second ", text);
        Assert.Contains("pipeline_eta_seconds ", text);
    }

    [Fact]
    public async Task Metrics_show_throughput_while_the_job_runs()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(10, 100, TimeSpan.FromMilliseconds(20)));
        await node.WaitReadyAsync();
        await node.SubmitAsync();
        await node.WaitForAsync(j => j.ImagesPerSecond > 0, TimeSpan.FromSeconds(20), "a measured throughput");

        var text = await node.Client.GetStringAsync("/metrics");
        Assert.True(Sample(text, "pipeline_images_per_second") > 0);
        Assert.True(Sample(text, "pipeline_eta_seconds") > 0);
        Assert.Equal(1, Sample(text, "pipeline_job_state{state=\"running\"}"));
        Assert.True(Sample(text, "pipeline_partitions{state=\"in_flight\"}") >= 1);
    }
}
