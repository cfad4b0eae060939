namespace Pipeline.Embedding;

/// <summary>The requested execution device cannot run the model (e.g. no CUDA libraries or GPU on this machine).</summary>
public sealed class EmbeddingDeviceException : Exception
{
    public EmbeddingDeviceException(string message, Exception? inner = null) : base(message, inner)
    {
    }

    internal static EmbeddingDeviceException CudaUnavailable(int deviceId, Exception inner) => new(
        $"CUDA was requested for embeddings, but CUDA libraries or devices were not found (device {deviceId}): " +
        $"{FirstLine(inner.Message)}. ONNX Runtime's CUDA provider needs an NVIDIA driver, a visible GPU, CUDA 13 " +
        "(libcudart, libcublas) and cuDNN 9 on LD_LIBRARY_PATH. To run on the CPU instead use --device cpu, or allow " +
        "the fallback with --device cuda --fallback-cpu (device: auto in configuration).",
        inner);

    private static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return (end < 0 ? text : text[..end]).TrimEnd('.');
    }
}
