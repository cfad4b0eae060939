using Pipeline.Cluster.Protocol;
using System.Net;
using System.Text.Json;

namespace Pipeline.Tests.Api;

/// <summary>POST /jobs that reach the coordinator: accepted, queued behind another, the same job's id again, rejected. A node per test.</summary>
[Trait("Category", "Slow")]
public sealed class SubmitTests : IAsyncLifetime
{
    private ApiTestNode _node = null!;

    public async Task InitializeAsync()
    {
        _node = await ApiTestNode.StartAsync(new PacedJobServices(4, 10, TimeSpan.FromMilliseconds(20)));
        await _node.WaitReadyAsync();
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpRequestMessage request)
    {
        var response = await _node.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response);
    }

    [Fact]
    public async Task Submit_accepts_a_valid_job_with_202_and_its_location()
    {
        var (status, body, response) = await SendAsync(_node.Request(HttpMethod.Post, "/jobs", _node.Spec().ToJson()));
        Assert.True(status == HttpStatusCode.Accepted, body.GetRawText());
        var id = body.GetProperty("job_id").GetString()!;
        Assert.Matches("^[0-9a-f]{16}$", id);
        Assert.Equal("/jobs/" + id, response.Headers.Location?.OriginalString);
        var job = await _node.JobAsync(response.Headers.Location!.OriginalString);
        Assert.Equal(id, job.JobId);
        Assert.Equal(_node.Output, job.Output);
        Assert.Equal(4, job.Partitions.Total);
    }

    [Fact]
    public async Task Submit_of_another_job_while_one_runs_is_queued_with_202_and_its_id()
    {
        var first = await _node.SubmitAsync();
        var other = _node.Spec() with { Splits = ["val"] };
        var (status, body, _) = await SendAsync(_node.Request(HttpMethod.Post, "/jobs", other.ToJson()));
        Assert.True(status == HttpStatusCode.Accepted, body.GetRawText());
        Assert.Equal("queued", body.GetProperty("state").GetString());
        var second = body.GetProperty("job_id").GetString()!;
        Assert.NotEqual(first, second);
        Assert.Equal(JobPhase.Queued, (await _node.JobAsync("/jobs/" + second)).State);
    }

    [Fact]
    public async Task Submit_of_the_same_job_while_it_runs_answers_its_id()
    {
        var first = await _node.SubmitAsync();
        // a new JobSpec with an equal (not the same) splits array: the same job
        var again = _node.Spec() with { Splits = ["train", "val"] };
        var (status, body, _) = await SendAsync(_node.Request(HttpMethod.Post, "/jobs", again.ToJson()));
        Assert.True(status == HttpStatusCode.Accepted, body.GetRawText());
        Assert.Equal(first, body.GetProperty("job_id").GetString());
        Assert.NotEqual("queued", body.GetProperty("state").GetString());
    }

    [Fact]
    public async Task The_same_corpus_to_another_folder_is_another_job()
    {
        var first = await _node.SubmitAsync();
        var second = await _node.SubmitAsync(_node.Spec() with { Output = _node.Output + "-other" });
        Assert.NotEqual(first, second);
    }

    [Fact]
    public async Task Submit_of_a_corpus_the_coordinator_cannot_read_is_a_422_with_the_reason()
    {
        var spec = _node.Spec() with { Corpus = Path.Combine(_node.Corpus, "missing") };
        var (status, body, _) = await SendAsync(_node.Request(HttpMethod.Post, "/jobs", spec.ToJson()));
        Assert.Equal((HttpStatusCode)422, status);
        Assert.Contains("does not exist", body.GetProperty("detail").GetString());
    }
}
