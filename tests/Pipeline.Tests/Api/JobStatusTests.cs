using Pipeline.Cluster.Protocol;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Pipeline.Cluster.Api;

namespace Pipeline.Tests.Api;

/// <summary>GET /jobs, /jobs/{id} and /workers while a real job runs on a loopback cluster.</summary>
[Trait("Category", "Slow")]
public sealed class JobStatusTests
{
    [Fact]
    public async Task Job_progress_advances_until_every_partition_is_committed()
    {
        // 6 partitions x 20 images x 30 ms: about 4 s of work on one worker
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(6, 20, TimeSpan.FromMilliseconds(30)));
        await node.WaitReadyAsync();
        var id = await node.SubmitAsync();

        var running = await node.WaitForAsync(j => j.State == JobPhase.Running && j.ImagesDone > 0 && j.ImagesDone < j.Images,
            TimeSpan.FromSeconds(20), "a partly done job");
        var later = await node.WaitForAsync(j => j.ImagesDone > running.ImagesDone, TimeSpan.FromSeconds(20), "progress");
        var done = await node.WaitForAsync(j => j.Finished, TimeSpan.FromSeconds(30), "the end of the job");

        Assert.Equal(id, running.JobId);
        Assert.Equal(120, running.Images);
        Assert.Equal(6, running.Partitions.Total);
        Assert.Equal(running.Partitions.Total, running.Partitions.Committed + running.Partitions.InFlight + running.Partitions.Queued);
        Assert.True(later.Progress > running.Progress);
        Assert.Equal(JobPhase.Succeeded, done.State);
        Assert.Equal(6, done.Partitions.Committed);
        Assert.Equal(120, done.ImagesDone);
        Assert.Equal(1.0, done.Progress);
        Assert.Equal(done.Images, done.Rows + done.Quarantined);
        Assert.EndsWith("dataset", done.Dataset);
    }

    [Fact]
    public async Task Job_reports_quarantine_by_kind_and_histograms_per_split_and_superclass()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(5, 4, TimeSpan.FromMilliseconds(5)));
        await node.WaitReadyAsync();
        await node.SubmitAsync();
        var done = await node.WaitForAsync(j => j.Finished, TimeSpan.FromSeconds(30), "the end of the job");

        // partitions 0 and 3 quarantine one image each (PacedJobServices)
        Assert.Equal(2, done.QuarantineByKind["truncated-jpeg"]);
        Assert.Equal(2, done.Quarantined);
        var groups = done.Histograms.Select(h => $"{h.Split}/{h.Supercategory}").Order().ToArray();
        Assert.Equal(["train/Aves", "train/Insecta", "train/Reptilia", "val/Aves", "val/Insecta"], groups);
        var aves = done.Histograms.Single(h => h.Split == "train" && h.Supercategory == "Aves");
        Assert.Equal(PacedJobServices.Bins, aves.Counts.Length);
        Assert.Equal(PacedJobServices.Bins + 1, aves.BinEdges.Length);
        Assert.Equal(0, aves.BinEdges[0]);
        Assert.Equal(1, aves.BinEdges[^1]);
        Assert.Equal(aves.Boxes, aves.Counts.Sum());
    }

    [Fact]
    public async Task Jobs_list_is_empty_before_any_job_and_holds_the_job_after()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(2, 5, TimeSpan.FromMilliseconds(5)));
        await node.WaitReadyAsync();
        Assert.Empty((await node.Client.GetFromJsonAsync<JobView[]>("/jobs", ApiJson.Options))!);

        var id = await node.SubmitAsync();
        var jobs = (await node.Client.GetFromJsonAsync<JobView[]>("/jobs", ApiJson.Options))!;
        Assert.Equal(id, Assert.Single(jobs).JobId);
    }

    [Fact]
    public async Task Unknown_job_id_is_a_404_with_a_json_message()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(2, 5, TimeSpan.FromMilliseconds(5)));
        await node.WaitReadyAsync();
        using var response = await node.Client.GetAsync("/jobs/0123456789abcdef");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("job 0123456789abcdef is not known to this coordinator (it has no job)", body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Workers_lists_each_worker_with_roles_throughput_and_heartbeat()
    {
        // 10 partitions x 40 images x 25 ms: about 5 s on two workers, so both hold work while the test looks
        var services = new PacedJobServices(10, 40, TimeSpan.FromMilliseconds(25));
        await using var node = await ApiTestNode.StartAsync(services, workerName: "worker-1");
        var second = await node.AddWorkerAsync(services, "worker-2");
        try
        {
            await node.WaitReadyAsync();
            await node.WaitForWorkersAsync(2);
            await node.SubmitAsync();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            WorkerView[] workers;
            do
            {
                workers = (await node.Client.GetFromJsonAsync<WorkerView[]>("/workers", ApiJson.Options))!;
                if (workers.Length == 2 && workers.All(w => w.ImagesPerSecond > 0)) break;
                await Task.Delay(200);
            } while (DateTime.UtcNow < deadline);

            Assert.Equal(["worker-1", "worker-2"], workers.Select(w => w.Worker).ToArray());
            Assert.All(workers, w =>
            {
                Assert.Contains("worker", w.Roles);
                Assert.True(w.ImagesPerSecond > 0, $"{w.Worker} reports no throughput");
                Assert.InRange(w.HeartbeatAgeSeconds, 0, 5);
                Assert.True(w.Partitions >= 0);
            });
            Assert.Contains("coordinator", workers.Single(w => w.Worker == "worker-1").Roles);
            Assert.DoesNotContain("coordinator", workers.Single(w => w.Worker == "worker-2").Roles);
        }
        finally
        {
            await second.StopAsync(CancellationToken.None);
            second.Dispose();
        }
    }
}
