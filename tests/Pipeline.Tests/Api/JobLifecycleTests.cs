using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Pipeline.Cluster.Api;
using Pipeline.Cluster.Protocol;
using Pipeline.Storage;

namespace Pipeline.Tests.Api;

/// <summary>A job's life through the real HTTP API of a real node: cancel refused while merging, queue order, history.</summary>
[Trait("Category", "Slow")]
public sealed class JobLifecycleTests
{
    private static async Task<JobView> WaitForJobAsync(ApiTestNode node, string id, Func<JobView, bool> done, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        JobView last;
        do
        {
            last = await node.JobAsync("/jobs/" + id);
            if (done(last)) return last;
            await Task.Delay(50);
        } while (DateTime.UtcNow < deadline);
        throw new TimeoutException($"{what} did not happen within 30 s; job {id} is {last.State}: {last.Error}");
    }

    private static string ManifestJob(string output) =>
        DatasetManifest.Parse(File.ReadAllBytes(Path.Combine(output, "dataset", DatasetMerger.ManifestFile))).Job;

    [Fact]
    public async Task Cancel_while_merging_is_refused_and_the_next_job_gets_a_result_of_its_own()
    {
        await using var node = await ApiTestNode.StartAsync(
            new PacedJobServices(2, 3, TimeSpan.FromMilliseconds(5)) { MergeTime = TimeSpan.FromSeconds(3) });
        await node.WaitReadyAsync();
        var first = await node.SubmitAsync();
        await WaitForJobAsync(node, first, j => j.State == JobPhase.Merging, "the merge of the first job");

        using var cancel = await node.Client.SendAsync(node.Request(HttpMethod.Delete, "/jobs/current"));
        Assert.Equal(HttpStatusCode.Conflict, cancel.StatusCode);
        Assert.Contains("merging", JsonDocument.Parse(await cancel.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());
        var otherOutput = node.Output + "-second";
        var second = await node.SubmitAsync(node.Spec() with { Output = otherOutput });
        Assert.NotEqual(first, second);
        Assert.Equal(JobPhase.Queued, (await node.JobAsync("/jobs/" + second)).State);

        var firstDone = await WaitForJobAsync(node, first, j => j.Finished, "the end of the first job");
        Assert.Equal(JobPhase.Succeeded, firstDone.State);
        Assert.Equal(Path.Combine(node.Output, "dataset"), firstDone.Dataset);
        var secondDone = await WaitForJobAsync(node, second, j => j.Finished, "the end of the second job");
        Assert.Equal(JobPhase.Succeeded, secondDone.State);
        Assert.Equal(Path.Combine(otherOutput, "dataset"), secondDone.Dataset);
        Assert.Equal(secondDone.Partitions.Total, secondDone.Partitions.Committed);
        Assert.Equal(first, ManifestJob(node.Output));
        Assert.Equal(second, ManifestJob(otherOutput));
    }

    [Fact]
    public async Task A_queued_job_runs_after_the_first_and_the_list_keeps_both_in_order()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(3, 4, TimeSpan.FromMilliseconds(20)));
        await node.WaitReadyAsync();
        var first = await node.SubmitAsync();
        var second = await node.SubmitAsync(node.Spec() with { Output = node.Output + "-second" });
        var again = await node.SubmitAsync(); // the first job again, while it runs: its id, not a third job

        Assert.Equal(first, again);
        var secondDone = await WaitForJobAsync(node, second, j => j.Finished, "the end of the queued job");
        var firstDone = await node.JobAsync("/jobs/" + first);
        Assert.Equal(JobPhase.Succeeded, firstDone.State);
        Assert.Equal(JobPhase.Succeeded, secondDone.State);
        Assert.True(firstDone.FinishedAt <= secondDone.StartedAt, $"the second job started at {secondDone.StartedAt}, before the first ended at {firstDone.FinishedAt}");
        Assert.True(secondDone.SubmittedAt < secondDone.StartedAt);

        var jobs = (await node.Client.GetFromJsonAsync<JobView[]>("/jobs", ApiJson.Options))!;
        Assert.Equal(new[] { first, second }, jobs.Select(j => j.JobId!).ToArray());
        Assert.All(jobs, j => Assert.Equal(JobPhase.Succeeded, j.State));
        Assert.Equal(node.Output + "-second", jobs[1].Output);
    }
}
