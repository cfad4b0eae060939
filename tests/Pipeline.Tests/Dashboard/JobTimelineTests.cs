using Pipeline.Cluster.Coordinator;
using Pipeline.Cluster.Protocol;
using Pipeline.Tests.Api;

namespace Pipeline.Tests.Dashboard;

/// <summary>The coordinator's event log and throughput series of a job: bounded, and served by GET /jobs/{id}.</summary>
public sealed class JobTimelineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 4, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_event_log_keeps_its_first_and_latest_events_and_no_more()
    {
        var timeline = new JobTimeline();
        for (var i = 0; i < 1000; i++) timeline.Note(T0.AddSeconds(i), "info", "event " + i);
        var events = timeline.Events;
        Assert.Equal(JobTimeline.MaxEvents, events.Length);
        Assert.Equal(1000 - JobTimeline.MaxEvents, timeline.EventsDropped);
        Assert.Equal("event 0", events[0].Text);
        Assert.Equal("event " + (JobTimeline.KeepFirst - 1), events[JobTimeline.KeepFirst - 1].Text);
        Assert.Equal("event 999", events[^1].Text);
        Assert.Equal(T0.AddSeconds(999), events[^1].At);
        Assert.True(events.Zip(events.Skip(1)).All(p => p.First.At < p.Second.At), "events out of order");
    }

    [Fact]
    public void The_series_is_bounded_and_keeps_the_images_of_the_whole_job()
    {
        // 10 images/s for an hour, then 30 images/s for an hour, offered every second
        var timeline = new JobTimeline();
        timeline.StartSeries(T0, 0);
        long images = 0;
        for (var s = 1; s <= 7200; s++)
        {
            images += s <= 3600 ? 10 : 30;
            timeline.Sample(T0.AddSeconds(s), images);
        }
        var series = timeline.Series;
        Assert.InRange(series.Length, JobTimeline.MaxSamples / 2, JobTimeline.MaxSamples);
        // every image is in the series: rate x seconds summed is the images done at the last sample
        var covered = series.Sum(p => p.ImagesPerSecond * p.Seconds);
        var lastImages = (long)(series[^1].At - T0).TotalSeconds is var end && end <= 3600 ? end * 10 : 36000 + (end - 3600) * 30;
        Assert.Equal(lastImages, covered, 6);
        Assert.Equal(10, series[0].ImagesPerSecond, 6);
        Assert.Equal(30, series[^1].ImagesPerSecond, 6);
        Assert.Equal(T0 + TimeSpan.FromSeconds(series[0].Seconds), series[0].At);
    }

    [Fact]
    public void Samples_come_no_closer_than_the_step()
    {
        var timeline = new JobTimeline();
        timeline.StartSeries(T0, 0);
        for (var ms = 100; ms <= 10_000; ms += 100) timeline.Sample(T0.AddMilliseconds(ms), ms / 10);
        var series = timeline.Series;
        Assert.Equal(5, series.Length);
        Assert.All(series, p => Assert.Equal(JobTimeline.SampleEvery.TotalSeconds, p.Seconds, 6));
        Assert.All(series, p => Assert.Equal(100, p.ImagesPerSecond, 6));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Get_job_serves_the_events_at_their_times_and_the_throughput_series()
    {
        // 12 partitions x 20 images x 25 ms on one worker: about 6 s, several samples 2 s apart
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(12, 20, TimeSpan.FromMilliseconds(25)));
        await node.WaitReadyAsync();
        var id = await node.SubmitAsync();
        var running = await node.WaitForAsync(j => j.Throughput.Length >= 1, TimeSpan.FromSeconds(30), "a throughput sample");
        Assert.Equal(JobPhase.Running, running.State);
        var job = await node.WaitForAsync(j => j.Finished, TimeSpan.FromSeconds(60), "the job ending");

        Assert.Equal(JobPhase.Succeeded, job.State);
        var texts = job.Events.Select(e => e.Text).ToArray();
        Assert.StartsWith($"job {id} queued", texts[0]);
        Assert.Equal(job.SubmittedAt, job.Events[0].At);
        Assert.Contains(texts, t => t.StartsWith("job started"));
        Assert.Contains(texts, t => t.StartsWith("job running: 12 partitions, 240 images"));
        Assert.Contains(texts, t => t.StartsWith("every partition committed: merging"));
        Assert.StartsWith("job succeeded", texts[^1]);
        Assert.Equal(job.FinishedAt, job.Events[^1].At);
        Assert.True(job.Events.Zip(job.Events.Skip(1)).All(p => p.First.At <= p.Second.At), "events out of order");

        Assert.NotEmpty(job.Throughput);
        Assert.True(job.Throughput.Length <= JobTimeline.MaxSamples);
        Assert.All(job.Throughput, p => Assert.InRange(p.At, job.StartedAt!.Value, job.FinishedAt!.Value));
        Assert.All(job.Throughput.SkipLast(1), p => Assert.True(p.ImagesPerSecond >= 0 && p.Seconds >= JobTimeline.SampleEvery.TotalSeconds));
        // the last sample closes the series when every partition is committed: the series holds every image of the run
        Assert.Equal(240, job.Throughput.Sum(p => p.ImagesPerSecond * p.Seconds), 6);
        Assert.Equal(240 / job.ElapsedSeconds, job.AverageImagesPerSecond, 9);
        // the JSON names, as docs/api.md documents them
        using var raw = await node.Client.SendAsync(node.Request(HttpMethod.Get, "/jobs/" + id));
        var body = await raw.Content.ReadAsStringAsync();
        foreach (var name in new[] { "\"events\":", "\"at\":", "\"kind\":", "\"text\":", "\"throughput\":", "\"images_per_second\":", "\"seconds\":", "\"average_images_per_second\":" })
            Assert.Contains(name, body);
    }
}
