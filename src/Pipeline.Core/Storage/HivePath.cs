using System.Text;

namespace Pipeline.Storage;

/// <summary>
/// Hive-style partition folders (<c>split=train/supercategory=Aves</c>) as Spark and pyarrow write them: characters
/// that would break a path or the key=value form are written as %XX, the same set Hive escapes.
/// </summary>
public static class HivePath
{
    public const string SplitKey = "split";
    public const string SupercategoryKey = "supercategory";

    /// <summary>The folder of one (split, supercategory) under <c>images/</c>, with '/' separators.</summary>
    public static string PartitionFolder(string split, string supercategory) =>
        $"{SplitKey}={Escape(split)}/{SupercategoryKey}={Escape(supercategory)}";

    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 0)
            throw new ArgumentException("a partition value must not be empty", nameof(value));
        StringBuilder? escaped = null;
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (NeedsEscape(c))
            {
                escaped ??= new StringBuilder(value, 0, i, value.Length + 8);
                escaped.Append('%').Append(((int)c).ToString("X2"));
            }
            else
            {
                escaped?.Append(c);
            }
        }
        string result = escaped?.ToString() ?? value;
        // "." and ".." are path navigation, not names; Hive never produces them from real values either.
        return result is "." or ".." ? result.Replace(".", "%2E", StringComparison.Ordinal) : result;
    }

    public static string Unescape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!value.Contains('%', StringComparison.Ordinal))
            return value;
        var result = new StringBuilder(value.Length);
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] == '%' && i + 2 < value.Length && IsHex(value[i + 1]) && IsHex(value[i + 2]))
            {
                result.Append((char)Convert.ToInt32(value.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                result.Append(value[i]);
            }
        }
        return result.ToString();
    }

    /// <summary>Finds <c>split=…</c> and <c>supercategory=…</c> among the folders of <paramref name="path"/>.</summary>
    public static bool TryParsePartition(string path, out string? split, out string? supercategory)
    {
        split = null;
        supercategory = null;
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        while (!string.IsNullOrEmpty(directory) && (split is null || supercategory is null))
        {
            string name = Path.GetFileName(directory);
            if (supercategory is null && name.StartsWith(SupercategoryKey + "=", StringComparison.Ordinal))
                supercategory = Unescape(name[(SupercategoryKey.Length + 1)..]);
            else if (split is null && name.StartsWith(SplitKey + "=", StringComparison.Ordinal))
                split = Unescape(name[(SplitKey.Length + 1)..]);
            directory = Path.GetDirectoryName(directory);
        }
        return split is not null && supercategory is not null;
    }

    private static bool NeedsEscape(char c) =>
        c < ' ' || c == '\u007F' || c is '"' or '#' or '%' or '\'' or '*' or '/' or ':' or '=' or '?' or '\\' or '{' or '[' or ']' or '^';

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);
}
