using System.Reflection;
using System.Text.Json;
using Pipeline.Jobs;

namespace Pipeline.Cluster.Api;

/// <summary>A submit request the API refuses, with every problem found (each one a sentence a user can act on).</summary>
public sealed class JobRequestException(IReadOnlyList<string> problems)
    : Exception(string.Join("; ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>
/// Turns the body of <c>POST /jobs</c> into a <see cref="JobSpec"/>: the job file's snake_case JSON
/// (<see cref="JobJson.Options"/>), with corpus and output required, unknown fields refused (a typo must not fall back to a
/// default silently) and every setting checked by <see cref="JobSpecRules"/> before the coordinator sees it.
/// </summary>
public static class JobRequest
{
    // the JobSpec properties as JSON names, read once: the request follows JobSpec as it grows
    private static readonly HashSet<string> KnownFields = JobSpecFields();

    public static JobSpec Parse(string body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw new JobRequestException([$"the body is not valid JSON ({FirstSentence(e.Message)})"]);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new JobRequestException(["the body must be a JSON object with at least corpus and output"]);

            var problems = new List<string>();
            foreach (var property in root.EnumerateObject())
                if (!KnownFields.Contains(property.Name))
                    problems.Add($"unknown field '{property.Name}' (known: {string.Join(", ", KnownFields.Order(StringComparer.Ordinal))})");
            RequireString(root, "corpus", problems);
            RequireString(root, "output", problems);
            if (problems.Count > 0) throw new JobRequestException(problems);

            JobSpec spec;
            try
            {
                spec = root.Deserialize<JobSpec>(JobJson.Options) ?? throw new JobRequestException(["the body is empty"]);
            }
            catch (JsonException e)
            {
                var field = e.Path is { Length: > 2 } path ? path[2..] : "?";
                throw new JobRequestException([$"field '{field}' has a value of the wrong type"]);
            }
            // like the command line: a larger crop without a resize keeps the 8/7 ratio of 256/224
            if (!root.TryGetProperty("resize_shorter", out _))
                spec = spec with { ResizeShorter = JobSpecRules.DefaultResizeShorter(spec.ImageSize) };
            problems.AddRange(JobSpecRules.Problems(spec));
            if (problems.Count > 0) throw new JobRequestException(problems);
            return spec;
        }
    }

    private static void RequireString(JsonElement root, string name, List<string> problems)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
            problems.Add($"{name} is required");
        else if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
            problems.Add($"{name} must be a non-empty string (a folder path)");
    }

    private static HashSet<string> JobSpecFields()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in typeof(JobSpec).GetProperties(BindingFlags.Public | BindingFlags.Instance))
            if (property.CanWrite) names.Add(JobJson.Options.PropertyNamingPolicy!.ConvertName(property.Name));
        return names;
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end > 0 ? message[..end] : message.TrimEnd('.');
    }
}
