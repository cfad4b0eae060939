using System.Reflection;

namespace Pipeline.Cluster.Api;

/// <summary>The dashboard's files (wwwroot/), embedded in this assembly: one page, one script, one style sheet; nothing loads from elsewhere.</summary>
public sealed class DashboardAssets
{
    public sealed record Asset(byte[] Content, string ContentType);

    private const string Prefix = "Pipeline.Cluster.Api.wwwroot.";
    private readonly Dictionary<string, Asset> _assets = new(StringComparer.Ordinal);

    public DashboardAssets()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        foreach (var name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(Prefix, StringComparison.Ordinal)) continue;
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            var file = name[Prefix.Length..];
            _assets[file] = new Asset(memory.ToArray(), ContentType(file));
        }
        if (!_assets.ContainsKey("index.html"))
            throw new InvalidOperationException($"the dashboard is not embedded in {assembly.GetName().Name} (wwwroot/index.html)");
    }

    public IReadOnlyCollection<string> Files => _assets.Keys;

    public Asset? Find(string file) => _assets.GetValueOrDefault(file);

    private static string ContentType(string file) => Path.GetExtension(file) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "application/octet-stream",
    };
}
