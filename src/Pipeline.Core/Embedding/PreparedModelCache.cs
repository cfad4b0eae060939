using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Onnx;
using Pipeline.Storage;

namespace Pipeline.Embedding;

/// <summary>
/// Rewritten models (<see cref="ModelGraphRewriter"/>) on disk, keyed by the source model's SHA-256 and every option
/// that changes the rewrite, so a process pays for the rewrite once per model and setting.
/// </summary>
public static class PreparedModelCache
{
    /// <summary>Bumped whenever the rewrite changes, so stale cache files are never reused.</summary>
    private const string RewriteVersion = "rewrite-v2";

    private static readonly object WriteLock = new();

    /// <summary>The cached file for these settings, written first if absent.</summary>
    public static string GetOrCreate(
        string modelPath, PixelNormalisation normalisation, EmbeddingPrecision precision, bool pixelsInGraph, string cacheDirectory)
    {
        var modelSha = ModelIdentity.Sha256(modelPath);
        var key = CacheKey(modelSha, normalisation, precision, pixelsInGraph);
        var path = Path.Combine(cacheDirectory, $"{modelSha[..12]}-{key}.onnx");
        if (File.Exists(path)) return path;
        lock (WriteLock)
        {
            if (File.Exists(path)) return path;
            ModelProto model;
            try
            {
                model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new InvalidDataException($"model file {modelPath} is not an ONNX model: {e.Message}", e);
            }
            ModelGraphRewriter.Prepare(model, normalisation, precision, pixelsInGraph);
            Directory.CreateDirectory(cacheDirectory);
            // Another process may write the same file: each writes its own temporary name, the rename is atomic.
            DurableFiles.Write(path, stream => model.WriteTo(stream));
            return path;
        }
    }

    /// <summary>
    /// The batch size measured for this prepared model (model and precision) on this device, read from a small file
    /// beside the prepared model; measured with <paramref name="measure"/> and written there the first time only, so
    /// a process start does not pay for the trial again. A file that cannot be read or parsed is measured anew.
    /// </summary>
    public static int BatchSize(EmbeddingSession session, Func<int> measure)
    {
        ArgumentNullException.ThrowIfNull(session);
        var device = session.Device == EmbeddingDevice.Cuda ? $"cuda{session.Options.CudaDeviceId}" : "cpu";
        var path = $"{session.PreparedModelPath}.{device}-x{session.SessionCount}.batch";
        try
        {
            if (File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), out var cached) && cached > 0) return cached;
        }
        catch (IOException)
        {
        }
        var measured = measure();
        try
        {
            DurableFiles.WriteAllText(path, measured.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a read-only cache still runs, it measures again next time
        }
        return measured;
    }

    /// <summary>Hex key of everything that changes the rewritten graph.</summary>
    public static string CacheKey(string modelSha256, PixelNormalisation normalisation, EmbeddingPrecision precision, bool pixelsInGraph)
    {
        var text = $"{RewriteVersion};model={modelSha256};precision={precision};pixels-in-graph={pixelsInGraph};" +
                   $"size={normalisation.Spec.InputSize};layout={normalisation.Spec.Layout};" +
                   (pixelsInGraph ? normalisation.Spec.NormalisationKey(normalisation.MeanImageSha256) : "");
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
    }
}
