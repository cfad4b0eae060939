using Pipeline.Embedding;

namespace Pipeline.Tests.Embedding;

[Collection(EmbeddingCollection.Name)]
public sealed class DeviceTests(EmbeddingFixture fixture)
{
    // These tests describe a machine without CUDA (CI, this dev VM); on a GPU machine CUDA would simply start.
    private static bool MachineHasNvidiaDriver => File.Exists("/dev/nvidiactl");

    [Fact]
    public void Asking_for_cuda_without_it_fails_with_a_clear_message()
    {
        if (MachineHasNvidiaDriver) return;
        var e = Assert.Throws<EmbeddingDeviceException>(() => EmbeddingSession.Open(fixture.Options() with { Device = EmbeddingDevice.Cuda }));
        Assert.Contains("CUDA libraries or devices were not found", e.Message);
        Assert.Contains("--device cpu", e.Message);
        Assert.Contains("--fallback-cpu", e.Message);
        Assert.NotNull(e.InnerException);
    }

    [Fact]
    public void Cuda_with_fallback_asked_runs_on_the_cpu_and_says_why()
    {
        if (MachineHasNvidiaDriver) return;
        using var session = EmbeddingSession.Open(fixture.Options() with { Device = EmbeddingDevice.Cuda, FallbackToCpu = true });
        Assert.Equal(EmbeddingDevice.Cpu, session.Device);
        Assert.Contains("CUDA", session.FallbackReason);
        Assert.InRange(EmbeddingFixture.MaxAbsDifference(session.Embed(fixture.Crops[0]), fixture.Reference[0]), 0, 1e-3);
    }

    [Fact]
    public void Auto_device_uses_the_cpu_when_cuda_is_missing()
    {
        if (MachineHasNvidiaDriver) return;
        using var session = EmbeddingSession.Open(fixture.Options() with { Device = EmbeddingDevice.Auto });
        Assert.Equal(EmbeddingDevice.Cpu, session.Device);
        Assert.NotNull(session.FallbackReason);
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
