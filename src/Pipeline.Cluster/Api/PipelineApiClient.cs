using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Pipeline.Jobs;

namespace Pipeline.Cluster.Api;

/// <summary>A request to the coordinator's API that did not succeed; <see cref="Status"/> is 0 when it was never answered.</summary>
public sealed class ApiRequestException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>The client of the coordinator's HTTP API that <c>pipeline submit</c> and <c>pipeline status</c> use.</summary>
public sealed class PipelineApiClient : IDisposable
{
    private readonly HttpClient _http;

    public PipelineApiClient(Uri baseAddress, string? token, TimeSpan? timeout = null)
    {
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        if (!string.IsNullOrEmpty(token)) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    public Uri BaseAddress => _http.BaseAddress!;

    /// <summary>Parses the <c>--api</c> option: an http(s) URL; a bare host:port means http.</summary>
    public static Uri ParseAddress(string text)
    {
        var candidate = text.Contains("://", StringComparison.Ordinal) ? text : "http://" + text;
        if (!Uri.TryCreate(candidate, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new ApiRequestException(0, $"--api must be an http(s) URL such as http://coordinator:8080, not '{text}'");
        return uri;
    }

    /// <summary>Submits a job; the coordinator answers once it has planned it (which streams the corpus JSON once).</summary>
    public async Task<SubmittedJob> SubmitAsync(JobSpec spec, CancellationToken cancellation)
    {
        using var content = new StringContent(JsonSerializer.Serialize(spec, JobJson.Compact), Encoding.UTF8, "application/json");
        return await SendAsync<SubmittedJob>(HttpMethod.Post, "jobs", content, cancellation);
    }

    /// <summary>The job with this id, or the coordinator's current job when <paramref name="jobId"/> is null.</summary>
    public Task<JobView> JobAsync(string? jobId, CancellationToken cancellation) =>
        SendAsync<JobView>(HttpMethod.Get, jobId is null ? "jobs/current" : "jobs/" + Uri.EscapeDataString(jobId), null, cancellation);

    /// <summary>Every job the coordinator knows, in queue order (finished, running, queued).</summary>
    public Task<JobView[]> JobsAsync(CancellationToken cancellation) =>
        SendAsync<JobView[]>(HttpMethod.Get, "jobs", null, cancellation);

    public Task<WorkerView[]> WorkersAsync(CancellationToken cancellation) =>
        SendAsync<WorkerView[]>(HttpMethod.Get, "workers", null, cancellation);

    public Task<JobView> CancelAsync(string jobId, CancellationToken cancellation) =>
        SendAsync<JobView>(HttpMethod.Delete, "jobs/" + Uri.EscapeDataString(jobId), null, cancellation);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, CancellationToken cancellation)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellation);
        }
        catch (HttpRequestException e)
        {
            throw new ApiRequestException(0, $"cannot reach the API at {BaseAddress}: {e.Message}");
        }
        catch (TaskCanceledException) when (!cancellation.IsCancellationRequested)
        {
            throw new ApiRequestException(0, $"the API at {BaseAddress} did not answer within {_http.Timeout.TotalSeconds:0} s");
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellation);
            if (!response.IsSuccessStatusCode) throw new ApiRequestException((int)response.StatusCode, Problem(response, text));
            try
            {
                return JsonSerializer.Deserialize<T>(text, ApiJson.Options)
                       ?? throw new ApiRequestException((int)response.StatusCode, $"{method} /{path} answered an empty body");
            }
            catch (JsonException)
            {
                throw new ApiRequestException((int)response.StatusCode, $"{method} /{path} did not answer JSON: is {BaseAddress} a Pipeline coordinator?");
            }
        }
    }

    /// <summary>The message of a problem-details answer, or the status line when the body is not one.</summary>
    private static string Problem(HttpResponseMessage response, string body)
    {
        var status = $"{(int)response.StatusCode} {response.ReasonPhrase}";
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                if (document.RootElement.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String)
                    return $"{status}: {detail.GetString()}";
                if (document.RootElement.TryGetProperty("title", out var title) && title.ValueKind == JsonValueKind.String)
                    return $"{status}: {title.GetString()}";
            }
        }
        catch (JsonException)
        {
            // not JSON: the status line says enough
        }
        return status;
    }

    public void Dispose() => _http.Dispose();
}
