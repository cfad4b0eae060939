namespace Pipeline.Jobs;

/// <summary>Where a job keeps its files under the output folder (docs/architecture.md, "Output layout").</summary>
public sealed class JobPaths(string output)
{
    public string Output { get; } = Path.GetFullPath(output);
    /// <summary>Coordinator state: job file, plan, journal. Internal, not part of the dataset.</summary>
    public const string StateFolder = "_pipeline";
    public string StateDir => Path.Combine(Output, StateFolder);
    /// <summary>Sole ownership of the folder while a job runs (<see cref="OutputLock"/>).</summary>
    public string LockFile => Path.Combine(StateDir, OutputLock.FileName);
    public string JobFile => Path.Combine(StateDir, "job.json");
    public string PlanDir => Path.Combine(StateDir, "plan");
    public string JournalFile => Path.Combine(StateDir, "journal.jsonl");
    public string PartsDir => Path.Combine(Output, "parts");
    public string DatasetDir => Path.Combine(Output, "dataset");
    public string SuccessFile => Path.Combine(DatasetDir, "_SUCCESS");
}
