using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Pipeline.Embedding;

/// <summary>
/// The identity of a model file: the lowercase hex SHA-256 of its bytes, which the job hash and the manifest carry.
/// Computed once per process for each file (re-hashed only if its size or write time changes).
/// </summary>
public static class ModelIdentity
{
    private static readonly ConcurrentDictionary<string, (long Length, DateTime WrittenUtc, string Sha256)> Known =
        new(StringComparer.Ordinal);

    public static string Sha256(string path)
    {
        var full = Path.GetFullPath(path);
        var info = new FileInfo(full);
        if (!info.Exists)
            throw new FileNotFoundException($"model file not found: {full}", full);
        if (Known.TryGetValue(full, out var known) && known.Length == info.Length && known.WrittenUtc == info.LastWriteTimeUtc)
            return known.Sha256;
        using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var sha = Convert.ToHexStringLower(SHA256.HashData(stream));
        Known[full] = (info.Length, info.LastWriteTimeUtc, sha);
        return sha;
    }
}
