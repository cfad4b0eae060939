using System.Text.RegularExpressions;

namespace Pipeline.Tests.Kubernetes;

/// <summary>The images' content: the Dockerfiles' publish step, run here as the image build would run it.</summary>
public class PublishTests
{
    private const string PublishCommand = "dotnet publish src/Pipeline.Cli -c Release -r linux-x64 --self-contained -o /app";
    private static readonly string[] Flavours = ["cpu", "gpu"];

    private static string Dockerfile(string flavour) => File.ReadAllText(RepositoryTree.PathOf("docker", $"Dockerfile.{flavour}"));

    private static IEnumerable<string> Instructions(string dockerfile, string instruction) =>
        Regex.Matches(dockerfile, $@"^{instruction}\s+(.+)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value.Trim());

    [Fact]
    public void Both_images_publish_the_cli_the_same_way_from_files_that_exist()
    {
        foreach (var flavour in Flavours)
        {
            var dockerfile = Dockerfile(flavour);
            Assert.Contains(PublishCommand, Instructions(dockerfile, "RUN"));
            foreach (var copy in Instructions(dockerfile, "COPY").Where(c => !c.StartsWith("--from")))
            {
                var sources = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1];
                foreach (var source in sources)
                    Assert.True(File.Exists(RepositoryTree.PathOf(source)) || Directory.Exists(RepositoryTree.PathOf(source)),
                        $"Dockerfile.{flavour} copies {source}, which is not in the repository");
            }
            Assert.Contains("[\"/app/pipeline\"]", Instructions(dockerfile, "ENTRYPOINT"));
            // the pods' securityContext runs as this uid: a different image user would own nothing it writes
            Assert.Contains("1654:1654", Instructions(dockerfile, "USER"));
        }
        Assert.Contains(Instructions(Dockerfile("gpu"), "FROM"), from => from.StartsWith("nvidia/cuda:13.") && from.Contains("cudnn-runtime"));
    }

    [Fact]
    [Trait("Category", "Slow")]
    [Trait("Category", "Publish")]
    public void Published_cli_runs_and_carries_its_configuration_and_model()
    {
        var scratch = Directory.CreateTempSubdirectory("pipeline-publish-").FullName;
        try
        {
            var output = Path.Combine(scratch, "app");
            // the Dockerfiles' command, with the output redirected and bin/obj kept out of the working tree
            var arguments = PublishCommand.Split(' ')[1..^2].Concat(["-o", output, "--artifacts-path", Path.Combine(scratch, "artifacts"), "-nodeReuse:false"]);
            // ReadyToRun compiles every assembly ahead of time: 1.5 min on an idle 2-core machine, far more under load
            var publish = Tool.Run("dotnet", arguments, timeout: TimeSpan.FromMinutes(15));
            Assert.True(publish.ExitCode == 0, publish.Output);
            // the images start without JIT-compiling the node first: ReadyToRun code in pipeline.dll and its libraries
            foreach (var assembly in new[] { "pipeline.dll", "Pipeline.Cluster.dll", "Pipeline.Core.dll", "Akka.Cluster.dll", "Parquet.dll" })
                Assert.True(IsReadyToRun(Path.Combine(output, assembly)), $"{assembly} in the publish has no ReadyToRun code");

            var executable = Path.Combine(output, "pipeline");
            var help = Tool.Run(executable, ["--help"], timeout: TimeSpan.FromMinutes(1));
            Assert.True(help.ExitCode == 0, help.Output);
            Assert.Contains("node", help.Stdout);
            var nodeHelp = Tool.Run(executable, ["node", "--help"], timeout: TimeSpan.FromMinutes(1));
            Assert.True(nodeHelp.ExitCode == 0, nodeHelp.Output);
            foreach (var option in new[] { "--role", "--gpu", "--config", "--hostname", "--public-hostname", "--port", "--name" })
                Assert.Contains(option, nodeHelp.Stdout);

            foreach (var conf in Directory.GetFiles(RepositoryTree.PathOf("cluster-config"), "*.conf"))
                Assert.Equal(File.ReadAllText(conf), File.ReadAllText(Path.Combine(output, "cluster-config", Path.GetFileName(conf))));
            Assert.True(File.Exists(Path.Combine(output, "DnnImageModels", "ResNet18Onnx", "ResNet18.onnx")), "the ResNet-18 model is not in the publish");
            Assert.True(File.Exists(Path.Combine(output, "libonnxruntime.so")));
            // the CPU image deletes these to save ~290 MB: they must still be what the publish produces
            foreach (var removed in Regex.Matches(Dockerfile("cpu"), @"/app/(libonnxruntime_providers_\w+\.so)").Select(m => m.Groups[1].Value))
                Assert.True(File.Exists(Path.Combine(output, removed)), $"Dockerfile.cpu removes {removed}, which the publish no longer has");
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    /// <summary>Whether an assembly carries ReadyToRun (precompiled) code: its CLI header's managed native header.</summary>
    private static bool IsReadyToRun(string path)
    {
        using var stream = File.OpenRead(path);
        using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
        return pe.PEHeaders.CorHeader is { ManagedNativeHeaderDirectory.Size: > 0 };
    }
}
