using System.ComponentModel;
using Pipeline.Cluster.Api;
using Pipeline.Cluster.Configuration;
using Pipeline.Cluster.Protocol;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Pipeline.Cli.Commands;

/// <summary>`pipeline submit`: sends a job to a running cluster's coordinator over its HTTP API and prints the job id.</summary>
public sealed class SubmitCommand : AsyncCommand<SubmitCommand.Settings>
{
    public sealed class Settings : JobOptions
    {
        [CommandOption("--api <URL>")]
        [Description("The coordinator's HTTP API, e.g. http://coordinator:8080. Default: $PIPELINE_API_URL")]
        public string? Api { get; init; }

        [CommandOption("--token <TOKEN>")]
        [Description("Bearer token for the API. Default: $PIPELINE_API_TOKEN or the file named by $PIPELINE_API_TOKEN_FILE")]
        public string? Token { get; init; }

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Corpus)) return ValidationResult.Error("--corpus is required: the corpus folder as every node sees it");
            if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out is required: the output folder as every node sees it");
            return ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        using var client = ApiConnection.Open(settings.Api, settings.Token);
        var spec = settings.ToSpec(settings.Corpus!, settings.Out!);
        SubmittedJob job;
        try
        {
            job = await client.SubmitAsync(spec, cancellation);
        }
        catch (ApiRequestException e)
        {
            throw new UserFacingException("submit failed: " + e.Message);
        }
        // the id alone on stdout, so a script can take it: JOB=$(pipeline submit ...)
        Console.Out.WriteLine(job.JobId);
        // the rest for people, on stderr, unwrapped so the suggested command can be copied whole
        Console.Error.WriteLine($"job {job.JobId} {JobStates.Name(job.State)}: {spec.Corpus} -> {job.Output}");
        Console.Error.WriteLine($"follow it with: pipeline status --api {client.BaseAddress} --job {job.JobId} --watch");
        return 0;
    }
}

/// <summary>The API address and token of `submit` and `status`: options first, then the environment.</summary>
public static class ApiConnection
{
    public static PipelineApiClient Open(string? api, string? token)
    {
        var address = NodeEnvironment.OptionOr(api, NodeEnvironment.ApiUrl)
                      ?? throw new UserFacingException("--api is required (or set PIPELINE_API_URL), e.g. --api http://coordinator:8080");
        try
        {
            return new PipelineApiClient(PipelineApiClient.ParseAddress(address), ResolveToken(token));
        }
        catch (ApiRequestException e)
        {
            throw new UserFacingException(e.Message);
        }
    }

    private static string? ResolveToken(string? token)
    {
        if (NodeEnvironment.OptionOr(token, NodeEnvironment.ApiToken) is { } given) return given;
        if (NodeEnvironment.Read(NodeEnvironment.ApiTokenFile) is not { } file) return null;
        try
        {
            return ApiOptions.ReadTokenFile(file);
        }
        catch (InvalidDataException e)
        {
            throw new UserFacingException(e.Message);
        }
    }
}
