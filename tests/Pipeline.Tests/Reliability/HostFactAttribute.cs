using System.Diagnostics;

namespace Pipeline.Tests.Reliability;

/// <summary>What a host-dependent test needs of the machine it runs on.</summary>
public enum HostFeature
{
    /// <summary>Mounting a tmpfs (root, or CAP_SYS_ADMIN).</summary>
    Tmpfs,
    /// <summary>Network namespaces and veth pairs (`ip netns`, root).</summary>
    NetworkNamespaces,
    /// <summary>The tests were built inside the git checkout and git runs.</summary>
    GitCheckout,
    /// <summary>An NVIDIA driver (<c>/dev/nvidiactl</c>): CUDA is expected to start (CUDA 13 and cuDNN 9 on LD_LIBRARY_PATH).</summary>
    NvidiaGpu,
    /// <summary>No NVIDIA driver: a machine where CUDA cannot start (CI, most development machines).</summary>
    NoNvidiaGpu,
}

/// <summary>
/// A fact that is skipped, with the reason, on a machine without <see cref="HostFeature"/>: xunit 2 decides skips when it
/// discovers tests, so the probe runs then (once per feature and process).
/// </summary>
public sealed class HostFactAttribute : FactAttribute
{
    public HostFactAttribute(HostFeature feature)
    {
        var missing = HostProbe.Missing(feature);
        if (missing is not null) Skip = missing;
    }
}

/// <summary>The theory form of <see cref="HostFactAttribute"/>.</summary>
public sealed class HostTheoryAttribute : TheoryAttribute
{
    public HostTheoryAttribute(HostFeature feature)
    {
        var missing = HostProbe.Missing(feature);
        if (missing is not null) Skip = missing;
    }
}

public static class HostProbe
{
    private static readonly Dictionary<HostFeature, Lazy<string?>> Probes = new()
    {
        [HostFeature.Tmpfs] = new(ProbeTmpfs),
        [HostFeature.NetworkNamespaces] = new(ProbeNetworkNamespaces),
        [HostFeature.GitCheckout] = new(ProbeGit),
        [HostFeature.NvidiaGpu] = new(() => HasNvidiaDriver ? null
            : $"no NVIDIA driver here ({NvidiaControlDevice} is absent): CUDA tests run on a GPU machine"),
        [HostFeature.NoNvidiaGpu] = new(() => HasNvidiaDriver
            ? $"an NVIDIA driver is present ({NvidiaControlDevice}): this test describes a machine without CUDA; the GPU tests run instead"
            : null),
    };

    private const string NvidiaControlDevice = "/dev/nvidiactl";

    private static bool HasNvidiaDriver => File.Exists(NvidiaControlDevice);

    /// <summary>Why the feature is unavailable here, or null when it works.</summary>
    public static string? Missing(HostFeature feature) => Probes[feature].Value;

    /// <summary>Runs a command; returns its exit code and output (killed after <paramref name="timeoutSeconds"/>).</summary>
    public static (int ExitCode, string Output) Run(string file, params string[] args) => Run(file, 20, args);

    public static (int ExitCode, string Output) Run(string file, int timeoutSeconds, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        try
        {
            using var process = Process.Start(info)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(timeoutSeconds * 1000))
            {
                process.Kill(entireProcessTree: true);
                return (-1, $"{file} {string.Join(' ', args)} did not finish in {timeoutSeconds} s");
            }
            return (process.ExitCode, stdout.Result + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, $"{file} cannot run: {e.Message}");
        }
    }

    private static string? ProbeTmpfs()
    {
        if (!OperatingSystem.IsLinux()) return "tmpfs mounts need Linux";
        var dir = Directory.CreateTempSubdirectory("pipeline-tmpfs-probe-").FullName;
        try
        {
            var (code, output) = Run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir);
            if (code != 0) return $"mounting a tmpfs is not permitted here (mount said: {output.Trim()})";
            Run("umount", dir);
            return null;
        }
        finally
        {
            Directory.Delete(dir);
        }
    }

    private static string? ProbeNetworkNamespaces()
    {
        if (!OperatingSystem.IsLinux()) return "network namespaces need Linux";
        var name = $"pipeline-probe-{Environment.ProcessId}";
        var (code, output) = Run("ip", "netns", "add", name);
        if (code != 0) return $"`ip netns add` is unavailable here ({output.Trim()})";
        try
        {
            var veth = $"pp{Environment.ProcessId % 100000}";
            (code, output) = Run("ip", "link", "add", veth + "a", "type", "veth", "peer", "name", veth + "b");
            if (code != 0) return $"veth pairs are unavailable here ({output.Trim()})";
            Run("ip", "link", "del", veth + "a");
            return null;
        }
        finally
        {
            Run("ip", "netns", "del", name);
        }
    }

    private static string? ProbeGit()
    {
        if (RepositoryRoot() is null) return "the tests were not built inside the git checkout";
        var (code, output) = Run("git", "--version");
        return code == 0 ? null : $"git does not run here ({output.Trim()})";
    }

    /// <summary>The root of the git checkout these tests were built from, or null when not built inside one.</summary>
    public static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")) && Path.Exists(Path.Combine(dir.FullName, ".git")))
                return dir.FullName;
        return null;
    }
}
