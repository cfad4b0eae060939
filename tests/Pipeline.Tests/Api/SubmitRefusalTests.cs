using Pipeline.Cluster.Protocol;
using System.Net;
using System.Text.Json;
using Pipeline.Cluster.Api;

namespace Pipeline.Tests.Api;

/// <summary>One real node shared by the tests of requests it must refuse (none of them may start a job).</summary>
public sealed class RefusingNodeFixture : IAsyncLifetime
{
    public ApiTestNode Node { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Node = await ApiTestNode.StartAsync(new PacedJobServices(4, 10, TimeSpan.FromMilliseconds(20)));
        await Node.WaitReadyAsync();
    }

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

/// <summary>POST /jobs refusals on a real node: the token and the validation of the body; each leaves the cluster idle.</summary>
[Trait("Category", "Slow")]
public sealed class SubmitRefusalTests(RefusingNodeFixture fixture) : IClassFixture<RefusingNodeFixture>
{
    private readonly ApiTestNode _node = fixture.Node;

    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpRequestMessage request)
    {
        var response = await _node.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone(), response);
    }

    private async Task AssertNoJobStarted()
    {
        var current = await _node.JobAsync();
        Assert.Equal(JobPhase.Idle, current.State);
        Assert.Null(current.JobId);
    }

    [Fact]
    public async Task Submit_without_token_is_refused_with_401_and_starts_nothing()
    {
        var (status, body, response) = await SendAsync(_node.Request(HttpMethod.Post, "/jobs", _node.Spec().ToJson(), token: null));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Contains("Authorization: Bearer", body.GetProperty("detail").GetString());
        await AssertNoJobStarted();
    }

    [Fact]
    public async Task Submit_with_a_wrong_token_is_refused_with_401()
    {
        // a prefix of the real token must not pass: the comparison is over the whole token
        var (status, body, _) = await SendAsync(_node.Request(HttpMethod.Post, "/jobs", _node.Spec().ToJson(), token: ApiTestNode.Token[..^1]));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("the bearer token is not valid", body.GetProperty("detail").GetString());
        await AssertNoJobStarted();
    }

    [Fact]
    public async Task Submit_without_corpus_is_a_400_naming_the_field()
    {
        var (status, body, response) = await SendAsync(_node.Request(HttpMethod.Post, "/jobs", $$"""{"output": "{{_node.Output}}"}"""));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("corpus is required", body.GetProperty("errors")[0].GetString());
        await AssertNoJobStarted();
    }

    [Fact]
    public async Task Submit_with_an_unknown_device_is_a_400()
    {
        var spec = _node.Spec() with { Device = "tpu" };
        var (status, body, _) = await SendAsync(_node.Request(HttpMethod.Post, "/jobs", spec.ToJson()));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("unknown device 'tpu'", body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Submit_with_negative_sizes_is_a_400_listing_each()
    {
        var spec = _node.Spec() with { ImageSize = -224, BatchSize = -1 };
        var (status, body, _) = await SendAsync(_node.Request(HttpMethod.Post, "/jobs", spec.ToJson()));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var errors = body.GetProperty("errors").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Contains(errors, e => e.StartsWith("image_size must be between 1 and", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("batch_size must be between 0 and", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Submit_with_malformed_json_is_a_400_without_internals()
    {
        var (status, body, _) = await SendAsync(_node.Request(HttpMethod.Post, "/jobs", "{\"corpus\": \"/data\", "));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var text = body.GetRawText();
        Assert.StartsWith("the body is not valid JSON", body.GetProperty("detail").GetString());
        Assert.DoesNotContain("   at ", text);
        Assert.DoesNotContain("System.Text.Json", text);
    }

    [Fact]
    public async Task Submit_with_a_misspelt_field_is_a_400_rather_than_a_silent_default()
    {
        var json = $$"""{"corpus": "{{_node.Corpus}}", "output": "{{_node.Output}}", "imagesize": 384}""";
        var (status, body, _) = await SendAsync(_node.Request(HttpMethod.Post, "/jobs", json));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("unknown field 'imagesize'", body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Submit_with_a_wrongly_typed_field_names_it()
    {
        var json = $$"""{"corpus": "{{_node.Corpus}}", "output": "{{_node.Output}}", "image_size": "large"}""";
        var (status, body, _) = await SendAsync(_node.Request(HttpMethod.Post, "/jobs", json));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("field 'image_size' has a value of the wrong type", body.GetProperty("detail").GetString());
    }
}
