using Akka.Configuration;
using Pipeline.Cluster.Configuration;

namespace Pipeline.Cluster.Api;

/// <summary>
/// Settings of the coordinator's HTTP API. Precedence: the command line (<c>--api URL</c>), then environment variables
/// (PIPELINE_API_URLS, PIPELINE_API_TOKEN, PIPELINE_API_TOKEN_FILE, PIPELINE_API_PROTECT_READS, bound by
/// <see cref="NodeEnvironment"/>), then HOCON (<c>pipeline.api.*</c>), then the defaults.
/// </summary>
public sealed record ApiOptions
{
    public const string DefaultUrls = "http://0.0.0.0:8080";

    /// <summary>Addresses Kestrel listens on, separated by ';' (port 0 picks a free port).</summary>
    public string Urls { get; init; } = DefaultUrls;

    /// <summary>The bearer token that submit and cancel need; null disables them. Never logged.</summary>
    public string? Token { get; init; }

    /// <summary>Reads (job and worker status, metrics) need the token too.</summary>
    public bool ProtectReads { get; init; }

    /// <summary>How long a status or cancel request waits for the coordinator singleton.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a submit waits: the coordinator answers once the job is planned (it streams the corpus JSON once).</summary>
    public TimeSpan SubmitTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public string[] UrlList => Urls.Split([';', ',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    // the generated record ToString would print the token into any log line that formats the options
    public override string ToString() =>
        $"ApiOptions {{ Urls = {Urls}, Token = {(Token is null ? "none" : "set")}, ProtectReads = {ProtectReads} }}";

    /// <summary>Reads the API settings of a node; <paramref name="urls"/> (the <c>--api</c> option) wins when given.</summary>
    /// <exception cref="InvalidDataException">the token file is missing or empty, or reads are protected without a token.</exception>
    /// <exception cref="ConfigurationException">a setting or variable that does not parse, named in the message.</exception>
    public static ApiOptions Load(Config config, string? urls = null, Func<string, string?>? environment = null)
    {
        config = NodeEnvironment.Apply(config, environment);
        var resolvedUrls = (string.IsNullOrWhiteSpace(urls) ? null : urls.Trim()) ?? NodeEnvironment.Text(config, "pipeline.api.urls") ?? DefaultUrls;

        // a token file, where one is named, wins over a token (a variable voids the other kind: NodeEnvironment.Settings)
        var tokenFile = NodeEnvironment.Text(config, "pipeline.api.token-file");
        var token = tokenFile is not null ? ReadTokenFile(tokenFile) : NodeEnvironment.Text(config, "pipeline.api.token");

        var protectText = NodeEnvironment.Text(config, "pipeline.api.protect-reads");
        var protectReads = protectText is not null && NodeEnvironment.ParseSwitch(protectText, "pipeline.api.protect-reads");
        if (protectReads && token is null)
            throw new InvalidDataException("pipeline.api.protect-reads is on but no API token is configured " +
                                           "(pipeline.api.token, PIPELINE_API_TOKEN or PIPELINE_API_TOKEN_FILE)");

        var options = new ApiOptions { Urls = resolvedUrls, Token = token, ProtectReads = protectReads };
        if (config.HasPath("pipeline.api.ask-timeout"))
            options = options with { AskTimeout = config.GetTimeSpan("pipeline.api.ask-timeout", options.AskTimeout) };
        if (config.HasPath("pipeline.api.submit-timeout"))
            options = options with { SubmitTimeout = config.GetTimeSpan("pipeline.api.submit-timeout", options.SubmitTimeout) };
        return options;
    }

    /// <summary>A mounted secret: the whole file is the token, less surrounding whitespace (the newline editors add).</summary>
    public static string ReadTokenFile(string path)
    {
        if (!File.Exists(path)) throw new InvalidDataException($"API token file {path} does not exist");
        var token = File.ReadAllText(path).Trim();
        if (token.Length == 0) throw new InvalidDataException($"API token file {path} is empty");
        return token;
    }
}
