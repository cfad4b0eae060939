using System.Diagnostics;
using System.Text;

namespace Pipeline.Tests.Kubernetes;

/// <summary>Paths of the checked-out repository the tests run from, and a small process runner for its tools.</summary>
internal static class RepositoryTree
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Pipeline.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"no Pipeline.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Every source file under src/ and every cluster-config file, as text: what "the code" means in consistency checks.</summary>
    public static string SourceText()
    {
        var text = new StringBuilder();
        foreach (var file in Directory.EnumerateFiles(PathOf("src"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")) continue;
            text.AppendLine(File.ReadAllText(file));
        }
        foreach (var file in Directory.EnumerateFiles(PathOf("cluster-config"), "*.conf")) text.AppendLine(File.ReadAllText(file));
        return text.ToString();
    }
}

public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public string Output => $"{Stdout}\n{Stderr}";
}

internal static class Tool
{
    public static ProcessResult Run(string fileName, IEnumerable<string> arguments, string? workingDirectory = null,
        TimeSpan? timeout = null, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepositoryTree.Root,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        if (environment is not null)
            foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? TimeSpan.FromMinutes(2);
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} ran longer than {limit}");
        }
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }
}
