using System.Net;
using System.Text.Json;
using Pipeline.Cluster.Api;

namespace Pipeline.Tests.Api;

/// <summary>The two access settings: no token configured (submitting disabled) and protected reads.</summary>
[Trait("Category", "Slow")]
public sealed class AccessTests
{
    [Fact]
    public async Task Submit_is_403_when_the_coordinator_has_no_token_configured()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(1, 1, TimeSpan.Zero),
            new ApiOptions { Urls = "http://127.0.0.1:0", Token = null });
        await node.WaitReadyAsync();
        using var response = await node.Client.SendAsync(node.Request(HttpMethod.Post, "/jobs", node.Spec().ToJson()));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("submitting is disabled", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("title").GetString());
    }

    [Fact]
    public async Task Protected_reads_need_the_token_but_probes_and_the_page_do_not()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(1, 1, TimeSpan.Zero),
            new ApiOptions { Urls = "http://127.0.0.1:0", Token = ApiTestNode.Token, ProtectReads = true });
        await node.WaitReadyAsync();
        foreach (var path in new[] { "/jobs", "/jobs/current", "/workers", "/metrics" })
        {
            using var open = await node.Client.SendAsync(node.Request(HttpMethod.Get, path, token: null));
            using var authorized = await node.Client.SendAsync(node.Request(HttpMethod.Get, path));
            Assert.True(open.StatusCode == HttpStatusCode.Unauthorized, $"{path} without token: {(int)open.StatusCode}");
            Assert.True(authorized.StatusCode == HttpStatusCode.OK, $"{path} with token: {(int)authorized.StatusCode}");
        }
        using var health = await node.Client.GetAsync("/healthz");
        using var page = await node.Client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact]
    public async Task Dashboard_page_and_its_assets_are_served_from_the_assembly()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(1, 1, TimeSpan.Zero));
        using var page = await node.Client.GetAsync("/");
        var html = await page.Content.ReadAsStringAsync();
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<script src=\"dashboard.js\">", html);
        Assert.DoesNotContain("http://", html.Replace("http://www.w3.org", "", StringComparison.Ordinal));
        Assert.DoesNotContain("https://", html);
        Assert.Equal("text/javascript", (await node.Client.GetAsync("/dashboard.js")).Content.Headers.ContentType?.MediaType);
        Assert.Equal("text/css", (await node.Client.GetAsync("/dashboard.css")).Content.Headers.ContentType?.MediaType);
    }
}
