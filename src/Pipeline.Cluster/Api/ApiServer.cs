using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Cluster.Remoting;

namespace Pipeline.Cluster.Api;

/// <summary>
/// The coordinator's HTTP API on Kestrel: a <see cref="WebApplication"/> of its own, next to the node's generic host, that
/// talks to the cluster through the node's actor system (resolved from <c>nodeServices</c>).
/// </summary>
public sealed class ApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ApiServer(WebApplication app, IReadOnlyList<Uri> addresses)
    {
        _app = app;
        Addresses = addresses;
    }

    /// <summary>Where Kestrel listens, with the ports it picked for port 0.</summary>
    public IReadOnlyList<Uri> Addresses { get; }

    /// <summary>The first address, with 0.0.0.0 or [::] replaced by loopback so a local client can use it.</summary>
    public Uri BaseAddress
    {
        get
        {
            var first = new UriBuilder(Addresses[0]);
            if (NodeEndpoints.IsWildcard(first.Host)) first.Host = NodeEndpoints.Loopback;
            return first.Uri;
        }
    }

    public static async Task<ApiServer> StartAsync(ApiOptions options, IServiceProvider nodeServices, CancellationToken cancellation)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            // Production: the exception handler never writes exception details into an answer
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
            Args = [],
        });
        builder.WebHost.UseUrls(options.UrlList);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = ApiEndpoints.MaxSubmitBytes;
        });
        builder.Logging.ClearProviders();
        var nodeLogging = nodeServices.GetService<ILoggerFactory>();
        if (nodeLogging is not null) builder.Logging.AddProvider(new NodeLoggerProvider(nodeLogging));
        // one line per request at Information would drown the node's log: the dashboard polls every second
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        // the node's host owns signals (SIGTERM runs CoordinatedShutdown); this app stops when that host stops it
        builder.Services.AddSingleton<IHostLifetime, NodeOwnedLifetime>();

        var gateway = new CoordinatorGateway(nodeServices, options);
        var metrics = new PipelineMetrics();
        metrics.CollectFrom(gateway, options.AskTimeout);
        ClusterSecurityMetrics.Register(metrics.Registry, nodeServices.GetService<NodeEndpoint>());
        builder.Services.AddSingleton(gateway);
        builder.Services.AddSingleton(metrics);
        builder.Services.AddProblemDetails();
        // every answer in the job file's snake_case, also those written by Results.Accepted and friends
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.PropertyNamingPolicy = ApiJson.Options.PropertyNamingPolicy);

        var app = builder.Build();
        // a body Kestrel refuses (over MaxRequestBodySize, also when chunked) is the client's fault: its own status, not 500
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => e is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        NodeHealth.Map(app, nodeServices);
        ApiEndpoints.Map(app, gateway, new ApiAccess(options.Token, options.ProtectReads), metrics, new DashboardAssets());

        try
        {
            await app.StartAsync(cancellation);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            await app.DisposeAsync();
            throw new InvalidDataException($"the HTTP API cannot listen on {options.Urls}: {e.Message}", e);
        }
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var addresses = new List<Uri>();
        foreach (var address in bound) addresses.Add(new Uri(address));
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Pipeline.Api");
        log.LogInformation("HTTP API and dashboard on {Addresses}; submit {Submit}, reads {Reads}",
            string.Join(", ", bound),
            options.Token is null ? "disabled (no token configured)" : "needs the bearer token",
            options.ProtectReads ? "need the bearer token" : "open");
        return new ApiServer(app, addresses);
    }

    public Task StopAsync(CancellationToken cancellation) => _app.StopAsync(cancellation);

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    /// <summary>Sends the web app's log lines to the node's logging, so both share one console and one level.</summary>
    private sealed class NodeLoggerProvider(ILoggerFactory node) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => node.CreateLogger(categoryName);

        public void Dispose()
        {
            // the node owns its logger factory
        }
    }
}

/// <summary>Runs the <see cref="ApiServer"/> for as long as the node's host runs (started after Akka, stopped before it).</summary>
public sealed class ApiHostedService(ApiOptions options, IServiceProvider nodeServices) : IHostedService, IAsyncDisposable
{
    private ApiServer? _server;

    /// <summary>The running server, once the host has started.</summary>
    public ApiServer Server => _server ?? throw new InvalidOperationException("the HTTP API has not started");

    public async Task StartAsync(CancellationToken cancellationToken) =>
        _server = await ApiServer.StartAsync(options, nodeServices, cancellationToken);

    /// <summary>The start line: where the API listens and what needs the token; loud when reads are open beyond loopback.</summary>
    public string Describe()
    {
        var addresses = string.Join(", ", Server.Addresses);
        var writes = options.Token is null ? "submit and cancel are disabled (no token)" : "submit and cancel need the token";
        if (options.OpenReadsBeyondLoopback)
            return $"INSECURE: the HTTP API on {addresses} serves jobs, output paths and workers to anyone who reaches it, " +
                   $"without a token (reads are open beyond loopback); {writes}";
        return $"api: {addresses}; " + (options.ProtectReads ? "every request but /healthz, /readyz and the dashboard page needs the token" : $"reads are open (loopback); {writes}");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is null) return;
        await _server.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
        _server = null;
    }
}

public static class PipelineApi
{
    /// <summary>Serves the HTTP API and dashboard from this node. Call after <c>PipelineNode.Configure</c>, so it starts after Akka.</summary>
    public static IServiceCollection AddPipelineApi(this IServiceCollection services, ApiOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(sp => new ApiHostedService(options, sp));
        services.AddHostedService(sp => sp.GetRequiredService<ApiHostedService>());
        return services;
    }
}
