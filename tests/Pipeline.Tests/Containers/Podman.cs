using Pipeline.Tests.Reliability;

namespace Pipeline.Tests.ContainerImages;

/// <summary>
/// Runs only where .ci/containers.sh (or a person, as docs/containers.md says) has built the image from
/// docker/Dockerfile.cpu and named it in PIPELINE_CONTAINER_IMAGE; skipped with that message elsewhere.
/// </summary>
public sealed class ContainerFactAttribute : FactAttribute
{
    public const string ImageVariable = "PIPELINE_CONTAINER_IMAGE";

    public ContainerFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(ImageVariable)))
            Skip = $"{ImageVariable} is not set: .ci/containers.sh builds docker/Dockerfile.cpu with podman and runs these tests";
    }
}

/// <summary>The podman command line (settings from CONTAINERS_CONF, as docs/containers.md says for this kind of machine).</summary>
public static class Podman
{
    public static string Image => Environment.GetEnvironmentVariable(ContainerFactAttribute.ImageVariable)!;

    /// <summary>Runs podman and returns its output; a non-zero exit fails the test with what podman said.</summary>
    public static string Run(params string[] args) => Run(120, args);

    public static string Run(int timeoutSeconds, params string[] args)
    {
        var (code, output) = HostProbe.Run("podman", timeoutSeconds, args);
        if (code != 0) throw new InvalidOperationException($"podman {string.Join(' ', args)} exited {code}:\n{output}");
        return output;
    }

    /// <summary>Runs podman, whatever its exit (cleanup, logs, a run expected to fail).</summary>
    public static (int ExitCode, string Output) Try(params string[] args) => HostProbe.Run("podman", 120, args);

    /// <summary>Runs a host command (chown, chmod) that must succeed.</summary>
    public static void Host(string file, params string[] args)
    {
        var (code, output) = HostProbe.Run(file, args);
        if (code != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {code}: {output}");
    }

    public static string Inspect(string container, string format) => Run("inspect", "--format", format, container).Trim();
}
