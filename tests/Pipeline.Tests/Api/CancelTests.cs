using Pipeline.Cluster.Protocol;
using System.Net;
using System.Text.Json;

namespace Pipeline.Tests.Api;

/// <summary>DELETE /jobs/{id} on a real node.</summary>
[Trait("Category", "Slow")]
public sealed class CancelTests
{
    [Fact]
    public async Task Delete_cancels_the_running_job()
    {
        // long enough never to finish during the test: 10 partitions x 100 images x 50 ms
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(10, 100, TimeSpan.FromMilliseconds(50)));
        await node.WaitReadyAsync();
        var id = await node.SubmitAsync();
        await node.WaitForAsync(j => j.ImagesDone > 0, TimeSpan.FromSeconds(20), "the job starting");

        using var response = await node.Client.SendAsync(node.Request(HttpMethod.Delete, "/jobs/" + id));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("cancelled", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("state").GetString());
        var after = await node.JobAsync("/jobs/" + id);
        Assert.Equal(JobPhase.Cancelled, after.State);
        Assert.Equal("cancelled by request", after.Error);
        Assert.True(after.Finished);
    }

    [Fact]
    public async Task Delete_without_token_leaves_the_job_running()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(10, 100, TimeSpan.FromMilliseconds(50)));
        await node.WaitReadyAsync();
        var id = await node.SubmitAsync();

        using var response = await node.Client.SendAsync(node.Request(HttpMethod.Delete, "/jobs/" + id, token: null));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(JobPhase.Running, (await node.JobAsync()).State);
    }

    [Fact]
    public async Task Delete_of_a_finished_job_is_a_409()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(2, 3, TimeSpan.FromMilliseconds(5)));
        await node.WaitReadyAsync();
        var id = await node.SubmitAsync();
        await node.WaitForAsync(j => j.Finished, TimeSpan.FromSeconds(20), "the end of the job");

        using var response = await node.Client.SendAsync(node.Request(HttpMethod.Delete, "/jobs/" + id));
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.Equal($"job {id} has already succeeded", detail);
    }

    [Fact]
    public async Task Delete_of_an_unknown_job_is_a_404()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(2, 3, TimeSpan.FromMilliseconds(5)));
        await node.WaitReadyAsync();
        using var response = await node.Client.SendAsync(node.Request(HttpMethod.Delete, "/jobs/ffffffffffffffff"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
