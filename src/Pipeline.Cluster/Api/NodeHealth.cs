using Akka.Actor;
using Akka.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pipeline.Cluster.Remoting;

namespace Pipeline.Cluster.Api;

/// <summary>The answer to <c>GET /healthz</c> and <c>GET /readyz</c>; <c>Warning</c> says when the cluster port is open without TLS.</summary>
public sealed record NodeHealthView(string Status, string? Member, string? Address, string? Warning);

/// <summary>
/// Probes of a node: <c>/healthz</c> (the process answers) and <c>/readyz</c> (200 only once this node is an Up member of
/// the cluster, not when its TCP port opens). The coordinator serves them with its API; workers with <c>--health URL</c>.
/// </summary>
public static class NodeHealth
{
    public static void Map(IEndpointRouteBuilder app, IServiceProvider nodeServices)
    {
        var endpoint = nodeServices.GetService<NodeEndpoint>();
        var warning = endpoint is { OpenWithoutTls: true } ? endpoint.Describe() : null;
        // probes stay open: kubelets carry no token
        app.MapGet("/healthz", () => Results.Json(new NodeHealthView("up", null, null, warning), Api.ApiJson.Options));
        app.MapGet("/readyz", () =>
        {
            var member = SelfMember(nodeServices);
            var up = member?.Status == MemberStatus.Up;
            return Results.Json(new NodeHealthView(up ? "ready" : "not-ready", member?.Status.ToString(), member?.Address.ToString(), warning),
                Api.ApiJson.Options, statusCode: up ? 200 : 503);
        });
    }

    private static Member? SelfMember(IServiceProvider nodeServices)
    {
        try { return Akka.Cluster.Cluster.Get(nodeServices.GetRequiredService<ActorSystem>()).SelfMember; }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException) { return null; }
    }

    /// <summary>Serves the probes alone (workers) at <paramref name="urls"/>, for as long as the node's host runs.</summary>
    public static IServiceCollection AddNodeHealth(this IServiceCollection services, string urls)
    {
        services.AddSingleton(sp => new NodeHealthServer(urls, sp));
        services.AddHostedService(sp => sp.GetRequiredService<NodeHealthServer>());
        return services;
    }
}

/// <summary>A Kestrel app with <see cref="NodeHealth"/>'s two routes only.</summary>
public sealed class NodeHealthServer(string urls, IServiceProvider nodeServices) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production, Args = [] });
        builder.WebHost.UseUrls(urls.Split([';', ',', ' '], StringSplitOptions.RemoveEmptyEntries));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, NodeOwnedLifetime>();
        var app = builder.Build();
        NodeHealth.Map(app, nodeServices);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            await app.DisposeAsync();
            throw new InvalidDataException($"the health endpoint cannot listen on {urls}: {e.Message}", e);
        }
        _app = app;
    }

    public Task StopAsync(CancellationToken cancellationToken) => _app?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        _app = null;
    }
}

/// <summary>A web app inside a node: the node's host owns signals (SIGTERM runs CoordinatedShutdown) and stops it.</summary>
internal sealed class NodeOwnedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
