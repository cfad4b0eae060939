using System.Text;
using Akka.Cluster;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Pipeline.Cluster.Protocol;

namespace Pipeline.Cluster.Api;

/// <summary>The routes of the coordinator's HTTP API (docs/api.md) and of its dashboard page.</summary>
public static class ApiEndpoints
{
    /// <summary>A job request is a few hundred bytes; anything near this is not one.</summary>
    public const int MaxSubmitBytes = 64 * 1024;

    public static void Map(WebApplication app, CoordinatorGateway gateway, ApiAccess access, PipelineMetrics metrics, DashboardAssets dashboard)
    {
        // /healthz and /readyz: Hosting.NodeHealth, mapped by ApiServer (workers serve them too)

        foreach (var file in dashboard.Files)
        {
            var asset = dashboard.Find(file)!;
            var route = file == "index.html" ? "/" : "/" + file;
            app.MapGet(route, (HttpContext http) =>
            {
                http.Response.Headers.CacheControl = "no-cache";
                return Results.Bytes(asset.Content, asset.ContentType);
            });
        }

        var reads = app.MapGroup("").AddEndpointFilter(async (context, next) =>
            access.CheckRead(context.HttpContext) ?? await WithCoordinator(context, next));
        reads.MapGet("/jobs", ListJobs);
        reads.MapGet("/jobs/current", CurrentJob);
        reads.MapGet("/jobs/{id}", GetJob);
        reads.MapGet("/workers", Workers);
        reads.MapGet("/metrics", async (HttpContext http) =>
        {
            http.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.ExportAsync(http.Response.Body, http.RequestAborted);
        });

        var writes = app.MapGroup("").AddEndpointFilter(async (context, next) =>
            access.CheckWrite(context.HttpContext) ?? await WithCoordinator(context, next));
        writes.MapPost("/jobs", Submit);
        writes.MapDelete("/jobs/{id}", Cancel);
    }

    private static async ValueTask<object?> WithCoordinator(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (CoordinatorUnavailableException e)
        {
            return ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "coordinator unavailable", e.Message);
        }
    }

    private static async Task<IResult> ListJobs(CoordinatorGateway gateway, HttpContext http)
    {
        var status = await gateway.StatusAsync(http.RequestAborted);
        // the coordinator runs one job at a time; the list holds it (running or last finished) when there is one
        JobView[] jobs = status.JobId is null && status.State == JobStates.Idle ? [] : [JobView.From(status, DateTimeOffset.UtcNow)];
        return Results.Json(jobs, ApiJson.Options);
    }

    private static async Task<IResult> CurrentJob(CoordinatorGateway gateway, HttpContext http)
    {
        var status = await gateway.StatusAsync(http.RequestAborted);
        return Results.Json(JobView.From(status, DateTimeOffset.UtcNow), ApiJson.Options);
    }

    private static async Task<IResult> GetJob(string id, CoordinatorGateway gateway, HttpContext http)
    {
        var status = await gateway.StatusAsync(http.RequestAborted);
        if (!string.Equals(status.JobId, id, StringComparison.Ordinal))
            return ApiProblems.Problem(StatusCodes.Status404NotFound, "no such job",
                status.JobId is null ? $"job {id} is not known to this coordinator (it has no job)" : $"job {id} is not known to this coordinator (its job is {status.JobId})");
        return Results.Json(JobView.From(status, DateTimeOffset.UtcNow), ApiJson.Options);
    }

    private static async Task<IResult> Workers(CoordinatorGateway gateway, HttpContext http)
    {
        var status = await gateway.StatusAsync(http.RequestAborted);
        return Results.Json(JobView.FromWorkers(status.Workers, DateTimeOffset.UtcNow), ApiJson.Options);
    }

    private static async Task<IResult> Submit(CoordinatorGateway gateway, HttpContext http)
    {
        var request = http.Request;
        if (request.ContentType is { } type && !type.Contains("json", StringComparison.OrdinalIgnoreCase))
            return ApiProblems.Problem(StatusCodes.Status415UnsupportedMediaType, "unsupported media type",
                $"send the job as application/json, not {type}");
        if (request.ContentLength > MaxSubmitBytes)
            return ApiProblems.Problem(StatusCodes.Status413PayloadTooLarge, "request too large", $"a job request is at most {MaxSubmitBytes} bytes");

        string body;
        try
        {
            body = await ReadLimitedAsync(request.Body, MaxSubmitBytes, http.RequestAborted);
        }
        catch (InvalidDataException e)
        {
            return ApiProblems.Problem(StatusCodes.Status413PayloadTooLarge, "request too large", e.Message);
        }

        Jobs.JobSpec spec;
        try
        {
            spec = JobRequest.Parse(body);
        }
        catch (JobRequestException e)
        {
            return ApiProblems.Problem(StatusCodes.Status400BadRequest, "invalid job", e.Message, e.Problems);
        }

        var reply = await gateway.SubmitAsync(spec, http.RequestAborted);
        if (reply is JobAccepted accepted)
        {
            var location = "/jobs/" + Uri.EscapeDataString(accepted.JobId);
            return Results.Accepted(location, new SubmittedJob(accepted.JobId, accepted.Output, location));
        }
        var reason = (reply as JobRejected)?.Reason ?? "the coordinator gave no reason";
        // busy with another job: try again later (409); anything else is about this job, e.g. a corpus it cannot read (422)
        var now = await gateway.StatusAsync(http.RequestAborted);
        var busy = now.State is JobStates.Planning or JobStates.Running or JobStates.Merging;
        return busy
            ? ApiProblems.Problem(StatusCodes.Status409Conflict, "cluster busy", reason)
            : ApiProblems.Problem(StatusCodes.Status422UnprocessableEntity, "job rejected", reason);
    }

    private static async Task<IResult> Cancel(string id, CoordinatorGateway gateway, HttpContext http)
    {
        var before = await gateway.StatusAsync(http.RequestAborted);
        if (id != "current" && !string.Equals(before.JobId, id, StringComparison.Ordinal))
            return ApiProblems.Problem(StatusCodes.Status404NotFound, "no such job", $"job {id} is not known to this coordinator");
        var reply = await gateway.CancelAsync(id, http.RequestAborted);
        if (reply is JobStatus status) return Results.Json(JobView.From(status, DateTimeOffset.UtcNow), ApiJson.Options);
        var reason = (reply as JobRejected)?.Reason ?? "the coordinator gave no reason";
        return ApiProblems.Problem(StatusCodes.Status409Conflict, "not running",
            before.IsFinished ? $"job {before.JobId} has already {before.State}" : reason);
    }

    /// <summary>Reads a UTF-8 body of at most <paramref name="limit"/> bytes, whatever Content-Length claimed.</summary>
    private static async Task<string> ReadLimitedAsync(Stream body, int limit, CancellationToken cancellation)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await body.ReadAsync(chunk, cancellation)) > 0)
        {
            if (buffer.Length + read > limit) throw new InvalidDataException($"a job request is at most {limit} bytes");
            buffer.Write(chunk, 0, read);
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
