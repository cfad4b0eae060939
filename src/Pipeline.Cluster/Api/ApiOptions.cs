using Akka.Configuration;
using Pipeline.Cluster.Configuration;
using Pipeline.Cluster.Remoting;

namespace Pipeline.Cluster.Api;

/// <summary>
/// Settings of the coordinator's HTTP API. Precedence: the command line (<c>--api URL</c>), then environment variables
/// (PIPELINE_API_URLS, PIPELINE_API_TOKEN, PIPELINE_API_TOKEN_FILE, PIPELINE_API_PROTECT_READS, bound by
/// <see cref="NodeEnvironment"/>), then HOCON (<c>pipeline.api.*</c>), then the defaults.
/// </summary>
public sealed record ApiOptions
{
    /// <summary>Loopback: nothing outside this machine reaches the API unless a URL beyond it is asked for.</summary>
    public const string DefaultUrls = "http://127.0.0.1:8080";

    /// <summary>Addresses Kestrel listens on, separated by ';' (port 0 picks a free port).</summary>
    public string Urls { get; init; } = DefaultUrls;

    /// <summary>The bearer token that submit and cancel need; null disables them. Never logged.</summary>
    public string? Token { get; init; }

    /// <summary>Reads (job and worker status, metrics) need the token too: on by default beyond loopback.</summary>
    public bool ProtectReads { get; init; }

    /// <summary>Some address is beyond loopback and reads are open there (only with <c>--insecure</c> or an explicit
    /// <c>protect-reads = off</c>): said at start.</summary>
    public bool OpenReadsBeyondLoopback => ProtectReads is false && UrlList.Any(url => !IsLoopbackUrl(url));

    /// <summary>How long a status or cancel request waits for the coordinator singleton.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a submit waits: the coordinator answers once the job is planned (it streams the corpus JSON once).</summary>
    public TimeSpan SubmitTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public string[] UrlList => SplitUrls(Urls);

    private static string[] SplitUrls(string urls) =>
        urls.Split([';', ',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>A URL whose host is a loopback address or localhost; wildcards (0.0.0.0, [::], *, +) and other names are not.</summary>
    public static bool IsLoopbackUrl(string url)
    {
        // Kestrel also takes "http://*:8080" and "http://+:8080", which Uri does not parse: beyond loopback
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) return false;
        return NodeEndpoints.IsLoopback(uri.Host);
    }

    // the generated record ToString would print the token into any log line that formats the options
    public override string ToString() =>
        $"ApiOptions {{ Urls = {Urls}, Token = {(Token is null ? "none" : "set")}, ProtectReads = {ProtectReads} }}";

    /// <summary>Reads the API settings of a node; <paramref name="urls"/> (the <c>--api</c> option) wins when given.</summary>
    /// <exception cref="InvalidDataException">the token file is missing or empty, or reads are protected without a token.</exception>
    /// <exception cref="ConfigurationException">a setting or variable that does not parse, named in the message.</exception>
    /// <remarks>
    /// Secure by default: an API that listens beyond loopback needs a token and protects reads with it, unless
    /// <c>protect-reads = off</c> is set explicitly; with no token at all it refuses to start unless
    /// <paramref name="insecure"/> (the node's <c>--insecure</c>), and then its reads are open.
    /// </remarks>
    public static ApiOptions Load(Config config, string? urls = null, Func<string, string?>? environment = null, bool insecure = false)
    {
        config = NodeEnvironment.Apply(config, environment);
        var resolvedUrls = (string.IsNullOrWhiteSpace(urls) ? null : urls.Trim()) ?? NodeEnvironment.Text(config, "pipeline.api.urls") ?? DefaultUrls;

        // a token file, where one is named, wins over a token (a variable voids the other kind: NodeEnvironment.Settings)
        var tokenFile = NodeEnvironment.Text(config, "pipeline.api.token-file");
        var token = tokenFile is not null ? ReadTokenFile(tokenFile) : NodeEnvironment.Text(config, "pipeline.api.token");

        var beyondLoopback = SplitUrls(resolvedUrls).FirstOrDefault(url => !IsLoopbackUrl(url));
        if (beyondLoopback is not null && token is null && !insecure)
            throw new InvalidDataException(
                $"the HTTP API would listen on {beyondLoopback}, beyond loopback, with no token, so anyone who reaches it could " +
                "read every job, path and worker: give it a token (PIPELINE_API_TOKEN_FILE, PIPELINE_API_TOKEN or " +
                "pipeline.api.token-file), or listen on http://127.0.0.1:PORT, or start the node with --insecure to open it anyway");
        var protectText = NodeEnvironment.Text(config, "pipeline.api.protect-reads");
        var protectReads = protectText is not null
            ? NodeEnvironment.ParseSwitch(protectText, "pipeline.api.protect-reads")
            : beyondLoopback is not null && token is not null;
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
