using Pipeline.Embedding;
using Pipeline.Tests.Reliability;

namespace Pipeline.Tests.Embedding;

[Collection(EmbeddingCollection.Name)]
public sealed class DeviceTests(EmbeddingFixture fixture)
{
    // A machine without CUDA (CI, most development machines) runs the first three; a GPU machine skips them, saying
    // why, and runs the CUDA ones instead, which are skipped with the reason everywhere else.

    [HostFact(HostFeature.NoNvidiaGpu)]
    public void Asking_for_cuda_without_it_fails_with_a_clear_message()
    {
        var e = Assert.Throws<EmbeddingDeviceException>(() => EmbeddingSession.Open(fixture.Options() with { Device = EmbeddingDevice.Cuda }));
        Assert.Contains("CUDA libraries or devices were not found", e.Message);
        Assert.Contains("--device cpu", e.Message);
        Assert.Contains("--fallback-cpu", e.Message);
        Assert.NotNull(e.InnerException);
    }

    [HostFact(HostFeature.NoNvidiaGpu)]
    public void Cuda_with_fallback_asked_runs_on_the_cpu_and_says_why()
    {
        using var session = EmbeddingSession.Open(fixture.Options() with { Device = EmbeddingDevice.Cuda, FallbackToCpu = true });
        Assert.Equal(EmbeddingDevice.Cpu, session.Device);
        Assert.Contains("CUDA", session.FallbackReason);
        Assert.InRange(EmbeddingFixture.MaxAbsDifference(session.Embed(fixture.Crops[0]), fixture.Reference[0]), 0, 1e-3);
    }

    [HostFact(HostFeature.NoNvidiaGpu)]
    public void Auto_device_uses_the_cpu_when_cuda_is_missing()
    {
        using var session = EmbeddingSession.Open(fixture.Options() with { Device = EmbeddingDevice.Auto });
        Assert.Equal(EmbeddingDevice.Cpu, session.Device);
        Assert.NotNull(session.FallbackReason);
    }

    [HostFact(HostFeature.NvidiaGpu)]
    public void Cuda_runs_the_model_on_the_gpu_and_agrees_with_the_cpu_reference()
    {
        using var session = EmbeddingSession.Open(fixture.Options() with { Device = EmbeddingDevice.Cuda });
        Assert.Equal(EmbeddingDevice.Cuda, session.Device);
        Assert.Null(session.FallbackReason);
        // cuDNN kernels round differently from the CPU ones: the direction of each embedding must agree
        for (var i = 0; i < EmbeddingFixture.ImageCount; i++)
            Assert.InRange(EmbeddingFixture.Cosine(session.Embed(fixture.Crops[i]), fixture.Reference[i]), 0.999, 1.0000001);
    }

    [HostFact(HostFeature.NvidiaGpu)]
    public void Auto_device_uses_cuda_where_it_starts()
    {
        using var session = EmbeddingSession.Open(fixture.Options() with { Device = EmbeddingDevice.Auto });
        Assert.Equal(EmbeddingDevice.Cuda, session.Device);
        Assert.Null(session.FallbackReason);
    }

    [Fact]
    public void Cpu_device_never_reports_a_fallback()
    {
        Assert.Equal(EmbeddingDevice.Cpu, fixture.PixelsSession.Device);
        Assert.Null(fixture.PixelsSession.FallbackReason);
        Assert.Equal(1, fixture.PixelsSession.SessionCount);
    }

    [Fact]
    public void Missing_model_file_is_a_clear_error()
    {
        var e = Assert.Throws<FileNotFoundException>(() => EmbeddingSession.Open(fixture.Options() with { ModelPath = "/nonexistent/model.onnx" }));
        Assert.Contains("/nonexistent/model.onnx", e.Message);
    }
}
