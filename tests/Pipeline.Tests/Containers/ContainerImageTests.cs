namespace Pipeline.Tests.ContainerImages;

/// <summary>What the image built from docker/Dockerfile.cpu is, as Kubernetes' restricted profile expects. Driven by .ci/containers.sh.</summary>
[Trait("Category", "Containers")]
[Trait("Category", "Slow")]
public sealed class ContainerImageTests
{
    [ContainerFact]
    public void Image_runs_pipeline_as_the_non_root_user_1654()
    {
        Assert.Equal("1654:1654", Podman.Inspect(Podman.Image, "{{.Config.User}}"));
        Assert.Equal("1654 1654", Podman.Run("run", "--rm", "--entrypoint", "sh", Podman.Image, "-c", "echo $(id -u) $(id -g)").Trim());
        Assert.Contains("USAGE:", Podman.Run("run", "--rm", Podman.Image, "--help"));
    }
}
