using System.Net;
using System.Text.Json;
using Pipeline.Cluster.Api;

namespace Pipeline.Tests.Api;

/// <summary>GET /healthz and /readyz, and what the API says when no coordinator answers.</summary>
[Trait("Category", "Slow")]
public sealed class ProbeTests
{
    [Fact]
    public async Task Readyz_is_ready_once_the_node_has_joined_its_cluster()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(1, 1, TimeSpan.Zero));
        await node.WaitReadyAsync();
        using var response = await node.Client.GetAsync("/readyz");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Up", body.GetProperty("member").GetString());
        Assert.StartsWith("akka.tcp://pipeline@127.0.0.1:", body.GetProperty("address").GetString());
    }

    [Fact]
    public async Task Readyz_is_503_while_the_node_has_not_joined_and_healthz_is_200()
    {
        // its only seed is a port where nobody listens: the node never joins
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(1, 1, TimeSpan.Zero),
            seeds: ["akka.tcp://pipeline@127.0.0.1:9"]);
        using var ready = await node.Client.GetAsync("/readyz");
        using var health = await node.Client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal("not-ready", JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Status_without_a_reachable_coordinator_is_a_503_with_a_message()
    {
        // a worker-only node that joined itself: the singleton proxy has no coordinator to talk to
        var api = new ApiOptions { Urls = "http://127.0.0.1:0", Token = ApiTestNode.Token, AskTimeout = TimeSpan.FromMilliseconds(500) };
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(1, 1, TimeSpan.Zero), api, coordinator: false);
        await node.WaitReadyAsync();
        using var response = await node.Client.GetAsync("/jobs/current");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        var detail = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString();
        Assert.StartsWith("the coordinator did not answer within 0.5 s", detail);
    }

    [Fact]
    public async Task Unknown_route_is_a_404_with_a_json_body()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(1, 1, TimeSpan.Zero));
        using var response = await node.Client.GetAsync("/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
