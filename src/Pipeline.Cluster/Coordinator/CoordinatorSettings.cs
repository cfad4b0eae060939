using Akka.Configuration;

namespace Pipeline.Cluster.Coordinator;

/// <summary>
/// The coordinator's tunables. <see cref="StateDir"/> holds the job history (<c>jobs.json</c>), so a restarted
/// coordinator resumes its running job and keeps its queue; null keeps the history in memory only.
/// </summary>
public sealed record CoordinatorSettings(TimeSpan Lease, TimeSpan Tick, int MaxAttemptFailures, string? StateDir)
{
    /// <summary>A running job with no worker for this long gets a warning in its status and in the log.</summary>
    public TimeSpan NoWorkerWarning { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Finished jobs remembered; the oldest are forgotten first.</summary>
    public int HistoryLimit { get; init; } = 100;

    /// <summary>
    /// Settings from HOCON. With no <c>pipeline.coordinator.state-dir</c>, a coordinator on a fixed port keeps its history
    /// in <see cref="DefaultStateDir"/> for that port (the same command finds it again after a restart); one on a random
    /// port (<c>pipeline run</c>, <c>--local</c>) keeps it in memory.
    /// </summary>
    public static CoordinatorSettings FromConfig(Config config, int? port)
    {
        var configured = config.GetString("pipeline.coordinator.state-dir", "");
        return new CoordinatorSettings(
            config.GetTimeSpan("pipeline.coordinator.lease", TimeSpan.FromSeconds(120)),
            config.GetTimeSpan("pipeline.coordinator.tick", TimeSpan.FromSeconds(1)),
            config.GetInt("pipeline.coordinator.max-attempt-failures", 3),
            configured is { Length: > 0 } ? configured : port is > 0 ? DefaultStateDir(port.Value) : null)
        {
            NoWorkerWarning = config.GetTimeSpan("pipeline.coordinator.no-worker-warning", TimeSpan.FromMinutes(1)),
        };
    }

    /// <summary><c>$XDG_STATE_HOME/pipeline/coordinator-PORT</c>, or <c>~/.local/state/pipeline/coordinator-PORT</c>.</summary>
    public static string DefaultStateDir(int port)
    {
        var root = Environment.GetEnvironmentVariable("XDG_STATE_HOME") is { Length: > 0 } xdg
            ? xdg
            : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile) is { Length: > 0 } home
                ? Path.Combine(home, ".local", "state")
                : Path.GetTempPath();
        return Path.Combine(root, "pipeline", $"coordinator-{port}");
    }
}
