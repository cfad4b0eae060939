using System.Globalization;
using System.Text;
using Akka.Configuration;

namespace Pipeline.Cluster.Configuration;

/// <summary>How an environment variable's text becomes a setting; a value that does not parse is refused naming the variable.</summary>
public enum SettingKind
{
    /// <summary>Any text, as a HOCON string.</summary>
    Text,
    /// <summary>An integer.</summary>
    WholeNumber,
    /// <summary>on/off (also true/false, yes/no, 1/0).</summary>
    Switch,
    /// <summary>A HOCON duration: 30s, 2m, 500ms.</summary>
    Duration,
    /// <summary>Items separated by commas, spaces or semicolons, as a HOCON list.</summary>
    List,
}

/// <summary>
/// One environment variable Pipeline reads. With a <see cref="HoconPath"/> it overrides that setting of the layered HOCON
/// (<see cref="NodeEnvironment.Apply"/>); <see cref="Replaces"/> names the settings it makes void (a token given directly
/// voids a configured token file, and the other way round). Without one it is read where it is needed, through
/// <see cref="NodeEnvironment.Read"/>.
/// </summary>
public sealed record EnvironmentSetting(string Variable, string? HoconPath, SettingKind Kind, string Meaning)
{
    public IReadOnlyList<string> Replaces { get; init; } = [];
}

/// <summary>
/// The one table of environment variables and the one place they are bound (Akka.NET's HOCON does not substitute
/// <c>${?VAR}</c>): the node layers them over its HOCON before any setting is read, so every options class reads HOCON
/// only. README's configuration section prints <see cref="MarkdownTable"/>; a test keeps the two equal.
/// </summary>
public static class NodeEnvironment
{
    public const string ConfigDirectory = "PIPELINE_CONFIG_DIR";
    public const string SeedNodes = "PIPELINE_SEED_NODES";
    public const string HealthUrls = "PIPELINE_HEALTH_URLS";
    public const string ApiUrls = "PIPELINE_API_URLS";
    public const string ApiUrl = "PIPELINE_API_URL";
    public const string ApiToken = "PIPELINE_API_TOKEN";
    public const string ApiTokenFile = "PIPELINE_API_TOKEN_FILE";
    public const string ApiProtectReads = "PIPELINE_API_PROTECT_READS";
    public const string TlsCertificate = "PIPELINE_TLS_CERT";
    public const string TlsPassword = "PIPELINE_TLS_CERT_PASSWORD";
    public const string TlsPasswordFile = "PIPELINE_TLS_CERT_PASSWORD_FILE";
    public const string TlsCa = "PIPELINE_TLS_CA";
    public const string TlsTrusted = "PIPELINE_TLS_TRUSTED_SHA256";
    public const string Discovery = "PIPELINE_DISCOVERY";
    public const string PodNamespace = "PIPELINE_POD_NAMESPACE";
    public const string RequiredContactPoints = "PIPELINE_REQUIRED_CONTACT_POINTS";

    /// <summary>Every variable, in the order the docs list them. Later entries win where two set the same setting.</summary>
    public static readonly IReadOnlyList<EnvironmentSetting> Settings =
    [
        new(ConfigDirectory, null, SettingKind.Text, "folder of the built-in HOCON files (default: `cluster-config/` beside the executable)"),
        new("PIPELINE_LOG_LEVEL", "akka.loglevel", SettingKind.Text, "Akka's log level: DEBUG, INFO, WARNING, ERROR"),
        new("PIPELINE_HOSTNAME", "akka.remote.dot-netty.tcp.hostname", SettingKind.Text, "address the cluster port binds to (beyond loopback needs TLS or `--insecure`)"),
        new("PIPELINE_PUBLIC_HOSTNAME", "akka.remote.dot-netty.tcp.public-hostname", SettingKind.Text, "address other nodes reach this one at"),
        new("PIPELINE_PORT", "akka.remote.dot-netty.tcp.port", SettingKind.WholeNumber, "cluster port"),
        new(SeedNodes, null, SettingKind.List, "seed node addresses, comma-separated, when neither `--seed` nor `akka.cluster.seed-nodes` names any"),
        new("PIPELINE_SBR_STABLE_AFTER", "akka.cluster.split-brain-resolver.stable-after", SettingKind.Duration, "how long membership must be stable before the split-brain resolver downs the unreachable side"),
        new("PIPELINE_LEASE", "pipeline.coordinator.lease", SettingKind.Duration, "how long a worker holds a partition without renewing it"),
        new("PIPELINE_STATE_DIR", "pipeline.coordinator.state-dir", SettingKind.Text, "where the coordinator keeps its job queue and history"),
        new("PIPELINE_PARTITIONS_IN_FLIGHT", "pipeline.worker.partitions-in-flight", SettingKind.WholeNumber, "partitions a worker decodes at once"),
        new("PIPELINE_PREFETCH", "pipeline.worker.prefetch", SettingKind.WholeNumber, "partitions a worker leases ahead"),
        new("PIPELINE_WORKER_THREADS", "pipeline.worker.threads", SettingKind.WholeNumber, "cores a node decodes on, 0 = all (`--threads` wins)"),
        new(HealthUrls, null, SettingKind.Text, "nodes without the API: serve `/healthz` and `/readyz` here (`--health` wins)"),
        new(ApiUrls, "pipeline.api.urls", SettingKind.Text, "coordinators: serve the HTTP API and dashboard here; setting it switches the API on (`--api` wins)"),
        new(ApiTokenFile, "pipeline.api.token-file", SettingKind.Text, "file holding the API token (a mounted secret); `pipeline submit` and `status` send it too") { Replaces = ["pipeline.api.token"] },
        new(ApiToken, "pipeline.api.token", SettingKind.Text, "the API token submit and cancel need; `pipeline submit` and `status` send it (`--token` wins)") { Replaces = ["pipeline.api.token-file"] },
        new(ApiProtectReads, "pipeline.api.protect-reads", SettingKind.Switch, "reads (status, metrics, dashboard) need the token too (default: on beyond loopback, off on loopback)"),
        new(ApiUrl, null, SettingKind.Text, "`pipeline submit` and `status`: the coordinator's API (`--api` wins)"),
        new(TlsCertificate, "pipeline.tls.certificate", SettingKind.Text, "the node's PKCS#12 certificate: switches mutual TLS on"),
        new(TlsPasswordFile, "pipeline.tls.password-file", SettingKind.Text, "file holding the certificate's password") { Replaces = ["pipeline.tls.password"] },
        new(TlsPassword, "pipeline.tls.password", SettingKind.Text, "the certificate's password") { Replaces = ["pipeline.tls.password-file"] },
        new(TlsCa, "pipeline.tls.ca-certificate", SettingKind.Text, "the cluster CA (PEM): peers must chain to it"),
        new(TlsTrusted, "pipeline.tls.trusted-sha256", SettingKind.List, "SHA-256 fingerprints of further accepted peer certificates (a rotation)"),
        new(Discovery, "pipeline.discovery.method", SettingKind.Text, "`kubernetes`: find the other pods through the Kubernetes API; `config`: seed nodes"),
        new(PodNamespace, "pipeline.discovery.pod-namespace", SettingKind.Text, "namespace to list pods in (default: the pod's own)"),
        new(RequiredContactPoints, "pipeline.discovery.required-contact-points", SettingKind.WholeNumber, "pods to see before joining"),
        new(Failpoints.Variable, null, SettingKind.Text, "testing hook, off unless set: `merge.manifest-written=<ms>` holds a merge that long once its manifest is written, so a fault test can kill the node there"),
    ];

    /// <summary>The variable's value, trimmed; null when it is unset or blank (a blank variable counts as unset everywhere).</summary>
    public static string? Read(string variable, Func<string, string?>? environment = null) =>
        (environment ?? Environment.GetEnvironmentVariable)(variable) is { } value && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    /// <summary>A command-line option's value when given (not blank), else the variable's (<see cref="Read"/>).</summary>
    public static string? OptionOr(string? option, string variable, Func<string, string?>? environment = null) =>
        !string.IsNullOrWhiteSpace(option) ? option.Trim() : Read(variable, environment);

    /// <summary>A HOCON setting as trimmed text; null when it is missing or blank (what a variable's <see cref="EnvironmentSetting.Replaces"/> leaves).</summary>
    public static string? Text(Config config, string path) =>
        config.IsEmpty || !config.HasPath(path) || config.GetString(path) is not { } value || string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>Layers every set variable of the table over <paramref name="config"/>; applying it twice changes nothing.</summary>
    /// <exception cref="ConfigurationException">a value that does not parse as its kind; the message names the variable.</exception>
    public static Config Apply(Config config, Func<string, string?>? environment = null)
    {
        var hocon = new StringBuilder();
        foreach (var setting in Settings)
        {
            if (setting.HoconPath is null || Read(setting.Variable, environment) is not { } value) continue;
            foreach (var replaced in setting.Replaces) hocon.Append(replaced).AppendLine(" = \"\"");
            hocon.Append(setting.HoconPath).Append(" = ").AppendLine(ToHocon(setting, value));
        }
        return hocon.Length == 0 ? config : ConfigurationFactory.ParseString(hocon.ToString()).WithFallback(config);
    }

    /// <summary>on/off and its spellings; <paramref name="name"/> (a setting or a variable) is named when the text is neither.</summary>
    /// <exception cref="ConfigurationException">neither on nor off.</exception>
    public static bool ParseSwitch(string text, string name) => text.Trim().ToLowerInvariant() switch
    {
        "on" or "true" or "yes" or "1" => true,
        "off" or "false" or "no" or "0" => false,
        _ => throw new ConfigurationException($"{name} must be on or off, not '{text}'"),
    };

    /// <summary>Items of a list given in one variable: separated by commas, spaces or semicolons.</summary>
    public static string[] SplitList(string text) =>
        text.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The table as README prints it.</summary>
    public static string MarkdownTable()
    {
        var table = new StringBuilder();
        table.AppendLine("| variable | overrides | meaning |");
        table.AppendLine("| --- | --- | --- |");
        foreach (var s in Settings)
            table.AppendLine($"| `{s.Variable}` | {(s.HoconPath is null ? "(read directly)" : $"`{s.HoconPath}`")} | {s.Meaning} |");
        return table.ToString();
    }

    private static string ToHocon(EnvironmentSetting setting, string value) => setting.Kind switch
    {
        SettingKind.WholeNumber => int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? number.ToString(CultureInfo.InvariantCulture)
            : throw new ConfigurationException($"{setting.Variable} must be a whole number, not '{value}'"),
        SettingKind.Switch => ParseSwitch(value, setting.Variable) ? "on" : "off",
        SettingKind.Duration => IsDuration(value) ? Quote(value)
            : throw new ConfigurationException($"{setting.Variable} must be a duration such as 30s, 2m or 500ms, not '{value}'"),
        SettingKind.List => "[" + string.Join(", ", SplitList(value).Select(Quote)) + "]",
        _ => Quote(value),
    };

    private static bool IsDuration(string value)
    {
        try
        {
            return ConfigurationFactory.ParseString("d = " + Quote(value)).GetTimeSpan("d", null, allowInfinite: false) >= TimeSpan.Zero;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return false;
        }
    }

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\r", "\\r").Replace("\t", "\\t") + "\"";
}
