using System.Collections.Frozen;
using System.Globalization;

namespace Pipeline;

/// <summary>
/// Named points where a process can be made to pause, so a fault test can kill it exactly there (the merge's last
/// steps take well under a millisecond on a fast disk: no watcher outside the process can otherwise catch them).
/// Off until <see cref="Configure"/> names a point: a node passes it the environment variable <see cref="Variable"/>,
/// <c>name=milliseconds</c>, several separated by commas. A pause is announced on standard error, so it is never silent.
/// </summary>
public static class Failpoints
{
    public const string Variable = "PIPELINE_FAILPOINTS";

    /// <summary>In the merge: the manifest is written in the build folder; _SUCCESS and the rename into place follow.</summary>
    public const string MergeManifestWritten = "merge.manifest-written";

    private static readonly FrozenSet<string> Known = new[] { MergeManifestWritten }.ToFrozenSet(StringComparer.Ordinal);

    private static volatile FrozenDictionary<string, int> _active = FrozenDictionary<string, int>.Empty;

    /// <summary>Activates the points <paramref name="value"/> names (none when it is null or blank).</summary>
    /// <exception cref="FormatException">an entry that is not <c>name=milliseconds</c> with a known name; the message names
    /// <see cref="Variable"/> and the entry.</exception>
    public static void Configure(string? value) => _active = Parse(value);

    /// <summary>Pauses here when <paramref name="name"/> is active; returns at once otherwise.</summary>
    public static async Task HitAsync(string name, CancellationToken cancellationToken)
    {
        if (!_active.TryGetValue(name, out int milliseconds)) return;
        await Console.Error.WriteLineAsync($"failpoint {name}: pausing {milliseconds} ms ({Variable})").ConfigureAwait(false);
        await Task.Delay(milliseconds, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The points and pauses a value of <see cref="Variable"/> names.</summary>
    /// <exception cref="FormatException">as <see cref="Configure"/>.</exception>
    public static FrozenDictionary<string, int> Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return FrozenDictionary<string, int>.Empty;
        var points = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (string entry in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] pair = entry.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2 || !Known.Contains(pair[0])
                || !int.TryParse(pair[1], NumberStyles.None, CultureInfo.InvariantCulture, out int milliseconds))
                throw new FormatException(
                    $"{Variable}: '{entry}' is not name=milliseconds with a known name ({string.Join(", ", Known.Order())})");
            points[pair[0]] = milliseconds;
        }
        return points.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
