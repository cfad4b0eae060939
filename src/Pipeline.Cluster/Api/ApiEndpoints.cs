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
        // /healthz and /readyz: NodeHealth, mapped by ApiServer (workers serve them too)

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
        var list = await gateway.JobsAsync(http.RequestAborted);
        var now = DateTimeOffset.UtcNow;
        return Results.Json(list.Jobs.Select(j => JobView.From(j, now)).ToArray(), ApiJson.Options);
    }

    private static async Task<IResult> CurrentJob(CoordinatorGateway gateway, HttpContext http)
    {
        var status = await gateway.StatusAsync(http.RequestAborted);
        return Results.Json(JobView.From(status, DateTimeOffset.UtcNow), ApiJson.Options);
    }

    private static async Task<IResult> GetJob(string id, CoordinatorGateway gateway, HttpContext http)
    {
        var reply = await gateway.JobAsync(id, http.RequestAborted);
        return reply is JobStatus status
            ? Results.Json(JobView.From(status, DateTimeOffset.UtcNow), ApiJson.Options)
            : Refused(reply);
    }

    /// <summary>A refusal as problem details, its status from the reason: unknown 404, invalid 422, not now 409.</summary>
    private static IResult Refused(object reply)
    {
        if (reply is not JobRejected rejected)
            return ApiProblems.Problem(StatusCodes.Status502BadGateway, "unexpected answer", $"the coordinator answered {reply.GetType().Name}");
        return rejected.Kind switch
        {
            RejectionReason.UnknownJob => ApiProblems.Problem(StatusCodes.Status404NotFound, "no such job", rejected.Reason),
            RejectionReason.Invalid => ApiProblems.Problem(StatusCodes.Status422UnprocessableEntity, "job rejected", rejected.Reason),
            RejectionReason.Finished => ApiProblems.Problem(StatusCodes.Status409Conflict, "not running", rejected.Reason),
            _ => ApiProblems.Problem(StatusCodes.Status409Conflict, "cannot cancel now", rejected.Reason),
        };
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
        if (reply is not JobAccepted accepted) return Refused(reply);
        var location = "/jobs/" + Uri.EscapeDataString(accepted.JobId);
        return Results.Accepted(location, new SubmittedJob(accepted.JobId, accepted.Output, location) { State = accepted.State, Run = accepted.Run });
    }

    private static async Task<IResult> Cancel(string id, CoordinatorGateway gateway, HttpContext http)
    {
        var reply = await gateway.CancelAsync(id, http.RequestAborted);
        return reply is JobStatus status ? Results.Json(JobView.From(status, DateTimeOffset.UtcNow), ApiJson.Options) : Refused(reply);
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
