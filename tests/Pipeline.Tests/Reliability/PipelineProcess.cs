using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Pipeline.Tests.Reliability;

/// <summary>
/// A `pipeline` command as its own OS process, optionally inside a network namespace (`ip netns exec`, which execs, so
/// the process id is the node's own), with its environment and its whole output kept.
/// </summary>
public sealed class PipelineProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    public PipelineProcess(string name, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, string? netns = null)
    {
        Name = name;
        // env execs, as `ip netns exec` does, so the process id stays the node's own. It gives the node SIGINT's default
        // disposition: a test run started in the background (`./test.sh &`, nohup, some CI runners) passes SIGINT on as
        // ignored, and .NET, like a shell, then never delivers Ctrl-C to the program: the interrupt tests would see nothing
        var info = new ProcessStartInfo(netns is null ? "env" : "ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (netns is not null)
            foreach (var arg in new[] { "netns", "exec", netns, "env" }) info.ArgumentList.Add(arg);
        foreach (var arg in new[] { "--default-signal=INT", "dotnet" }) info.ArgumentList.Add(arg);
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipeline.dll"));
        foreach (var arg in args) info.ArgumentList.Add(arg);
        info.Environment["PIPELINE_CONFIG_DIR"] = Path.Combine(AppContext.BaseDirectory, "cluster-config");
        // no colour codes or terminal width games in captured output
        info.Environment["NO_COLOR"] = "1";
        if (environment is not null)
            foreach (var (key, value) in environment) info.Environment[key] = value;
        _process = new Process { StartInfo = info };
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    /// <summary>SIGKILL: no CoordinatedShutdown, no hand-back, no flush; the rest of the cluster must notice by itself.</summary>
    public void KillHard()
    {
        try { _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { /* already gone */ }
    }

    /// <summary>SIGTERM, as Kubernetes stops a pod: the node leaves the cluster through CoordinatedShutdown.</summary>
    public void Terminate()
    {
        if (!_process.HasExited) _ = Kill(_process.Id, 15);
    }

    /// <summary>SIGINT, as Ctrl-C in a terminal.</summary>
    public void Interrupt()
    {
        if (!_process.HasExited) _ = Kill(_process.Id, 2);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Name} still running after {timeout}; output:\n{Tail()}");
        }
        // the asynchronous readers may still hold the last lines
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>True when the process exits within <paramref name="timeout"/>; false (still running) otherwise.</summary>
    public async Task<bool> ExitsWithinAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        _process.WaitForExit();
        return true;
    }

    /// <summary>The last lines of the output, for failure messages.</summary>
    public string Tail(int lines = 60)
    {
        var all = Output.Split('\n');
        return string.Join('\n', all[Math.Max(0, all.Length - lines)..]);
    }

    public void Dispose()
    {
        KillHard();
        _process.WaitForExit(5000);
        _process.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
