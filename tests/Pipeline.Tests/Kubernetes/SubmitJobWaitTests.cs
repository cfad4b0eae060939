using System.Diagnostics;
using System.Text.RegularExpressions;
using Pipeline.Tests.Api;

namespace Pipeline.Tests.Kubernetes;

/// <summary>
/// The container command of k8s/submit/submit-job.yaml, run as the pod runs it (sh, the real `pipeline` executable)
/// against a real coordinator's API: it waits for the job and exits with the job's status, so the Kubernetes Job's
/// status is the job's. A Secret made as the docs say passes the offline schema check.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Trait("Category", "Slow")]
public sealed partial class SubmitJobWaitTests : IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("pipeline-submit-job-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    /// <summary>The manifest's shell script, with the image's /app/pipeline pointing at this build's executable.</summary>
    private string Script()
    {
        string yaml = File.ReadAllText(RepositoryTree.PathOf("k8s", "submit", "submit-job.yaml"));
        Match block = ScriptBlock().Match(yaml);
        Assert.True(block.Success, "submit-job.yaml has no `command: [/bin/sh, -c, |script, name]`");
        string indent = block.Groups["indent"].Value;
        string script = string.Join('\n', block.Groups["body"].Value.Split('\n').Select(l => l.StartsWith(indent, StringComparison.Ordinal) ? l[indent.Length..] : l.Trim()));
        string wrapper = Path.Combine(_work, "pipeline");
        File.WriteAllText(wrapper, $"#!/bin/sh\nexec dotnet '{Path.Combine(AppContext.BaseDirectory, "pipeline.dll")}' \"$@\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return script.Replace("/app/pipeline", wrapper, StringComparison.Ordinal);
    }

    private Process Start(ApiTestNode node)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in (string[])["-c", Script(), "pipeline-submit", "submit", "--api", node.BaseAddress.ToString(),
                     "--corpus", node.Corpus, "--out", node.Output, "--model", "none", "--splits", "val"])
            start.ArgumentList.Add(arg);
        foreach (var name in new[] { "PIPELINE_API_URL", "PIPELINE_API_TOKEN_FILE" }) start.Environment.Remove(name);
        start.Environment["PIPELINE_API_TOKEN"] = ApiTestNode.Token; // as the manifest passes the Secret
        return Process.Start(start)!;
    }

    private static async Task<(int ExitCode, string Log)> FinishAsync(Process process)
    {
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task Submit_job_waits_for_the_job_and_exits_0_when_it_succeeds_with_progress_in_its_log()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(4, 10, TimeSpan.FromMilliseconds(40)), workerName: "worker-1");
        await node.WaitReadyAsync();
        using Process pod = Start(node);
        var (exitCode, log) = await FinishAsync(pod);

        Assert.True(exitCode == 0, log);
        var job = await node.JobAsync();
        Assert.Equal(Pipeline.Cluster.Protocol.JobPhase.Succeeded, job.State);
        Assert.Contains($"submitted job {job.JobId}; waiting for it to finish", log);
        Assert.Contains($"job {job.JobId} succeeded: 4/4 partitions", log);
    }

    [Fact]
    public async Task Submit_job_exits_1_with_the_reason_when_the_job_is_cancelled()
    {
        await using var node = await ApiTestNode.StartAsync(new PacedJobServices(6, 10, TimeSpan.FromMilliseconds(200)), workerName: "worker-1");
        await node.WaitReadyAsync();
        using Process pod = Start(node);
        var running = await node.WaitForAsync(j => j.State == Pipeline.Cluster.Protocol.JobPhase.Running, TimeSpan.FromSeconds(60), "the submitted job running");
        using (var cancel = await node.Client.SendAsync(node.Request(HttpMethod.Delete, "/jobs/" + running.JobId)))
            Assert.True(cancel.IsSuccessStatusCode);
        var (exitCode, log) = await FinishAsync(pod);

        Assert.True(exitCode == 1, log);
        Assert.Contains($"job {running.JobId} cancelled", log);
        Assert.Contains("error: cancelled by request", log);
    }

    [Fact]
    public void A_secret_made_as_the_docs_say_passes_the_schema_check()
    {
        // docs/kubernetes.md: openssl rand -hex 32 | tr -d '\n' > k8s/overlays/cpu/secrets/api-token
        string copy = Path.Combine(_work, "k8s");
        RenderedManifests.CopyTree(RepositoryTree.PathOf("k8s"), copy);
        Directory.CreateDirectory(Path.Combine(copy, "overlays", "cpu", "secrets"));
        File.WriteAllText(Path.Combine(copy, "overlays", "cpu", "secrets", "api-token"), Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        ProcessResult rendered = RenderedManifests.Render(Path.Combine(copy, "overlays", "cpu"));
        Assert.True(rendered.ExitCode == 0, rendered.Output);
        Assert.Matches(@"api-token: \|\n\s+\S+\n\s+\S+\n", rendered.Stdout); // kustomize wraps the base64 onto two lines
        string file = Path.Combine(_work, "cpu.yaml");
        File.WriteAllText(file, rendered.Stdout);
        ProcessResult valid = RenderedManifests.Validate([file]);
        Assert.True(valid.ExitCode == 0, valid.Output);

        // and base64 that is broken still fails
        File.WriteAllText(file, Regex.Replace(rendered.Stdout, @"(api-token: \|\n\s+)(\S+)", "$1!!$2"));
        Assert.NotEqual(0, RenderedManifests.Validate([file]).ExitCode);
    }

    [GeneratedRegex(@"command:\s*\n\s*- /bin/sh\s*\n\s*- -c\s*\n\s*- \|\n(?<body>(?<indent>[ ]+)\S[\s\S]*?)\n\s*- pipeline-submit\n")]
    private static partial Regex ScriptBlock();
}
