namespace Pipeline.Jobs;

/// <summary>
/// Refuses an output folder a job must never write to: an existing file (or device, socket, pipe), or anything under the
/// kernel's pseudo file systems /proc, /sys and /dev, also when reached through a symbolic link. One sentence per refusal.
/// </summary>
public static class OutputPathCheck
{
    private static readonly string[] KernelFileSystems = ["/proc", "/sys", "/dev"];

    /// <summary>Adds the reason <paramref name="output"/> is refused to <paramref name="problems"/>, if it is.</summary>
    public static void Validate(string output, List<string> problems)
    {
        if (!Path.IsPathFullyQualified(output)) return; // JobSpecRules says so already
        var resolved = Resolve(Path.GetFullPath(output));
        foreach (var root in KernelFileSystems)
            if (resolved == root || resolved.StartsWith(root + "/", StringComparison.Ordinal))
            {
                problems.Add($"output '{output}' is under {root}, a kernel file system, not a folder for a dataset");
                return;
            }
        if (File.Exists(resolved) || (Path.Exists(resolved) && !Directory.Exists(resolved)))
            problems.Add($"output '{output}' is a file, not a folder: give a folder path (it is created when missing)");
    }

    /// <summary>The path with every symbolic link among its existing leading parts followed (what the kernel would open).</summary>
    public static string Resolve(string fullPath)
    {
        var parts = fullPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var current = "/";
        for (var i = 0; i < parts.Length; i++)
        {
            var next = Path.Combine(current, parts[i]);
            FileSystemInfo info = new FileInfo(next);
            if (!info.Exists) info = new DirectoryInfo(next);
            if (!info.Exists && info.LinkTarget is null)
                return Path.Combine([next, .. parts[(i + 1)..]]); // the rest does not exist yet: nothing more to follow
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            current = target is null ? next : Path.GetFullPath(target.FullName);
        }
        return current;
    }
}
