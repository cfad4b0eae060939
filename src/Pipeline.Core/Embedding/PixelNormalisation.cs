using Onnx;

namespace Pipeline.Embedding;

/// <summary>
/// A <see cref="ModelSpec"/> folded into <c>value = pixel · Gain[c] − Offset[c,y,x]</c> in the model's channel
/// order; the in-graph preprocessing and the host (C#) preprocessing both use exactly these numbers.
/// </summary>
public sealed class PixelNormalisation
{
    private PixelNormalisation(ModelSpec spec, float[] gain, float[] offset, bool offsetIsImage, string? meanImageSha256)
    {
        Spec = spec;
        Gain = gain;
        Offset = offset;
        OffsetIsImage = offsetIsImage;
        MeanImageSha256 = meanImageSha256;
    }

    public ModelSpec Spec { get; }

    /// <summary>Scale / Std per model channel.</summary>
    public float[] Gain { get; }

    /// <summary>(MeanImage + Mean) / Std: 3 values, or 3·H·W in CHW order when the spec has a mean image.</summary>
    public float[] Offset { get; }

    public bool OffsetIsImage { get; }

    public string? MeanImageSha256 { get; }

    /// <summary>Model channel c reads crop channel SourceChannel(c) of the RGB crop.</summary>
    public int SourceChannel(int c) => Spec.ChannelOrder == ChannelOrder.Bgr ? 2 - c : c;

    public static PixelNormalisation Create(ModelSpec spec)
    {
        spec.Validate();
        var side = spec.InputSize;
        var gain = new float[3];
        for (var c = 0; c < 3; c++) gain[c] = spec.Scale / spec.Std[c];
        var meanImagePath = spec.ResolvedMeanImagePath;
        if (meanImagePath is null)
        {
            var offset = new float[3];
            for (var c = 0; c < 3; c++) offset[c] = spec.Mean[c] / spec.Std[c];
            return new PixelNormalisation(spec, gain, offset, false, null);
        }
        var meanImage = LoadMeanImage(meanImagePath, side);
        var plane = side * side;
        for (var c = 0; c < 3; c++)
        {
            var mean = spec.Mean[c];
            var std = spec.Std[c];
            var channel = meanImage.AsSpan(c * plane, plane);
            for (var i = 0; i < channel.Length; i++) channel[i] = (channel[i] + mean) / std;
        }
        return new PixelNormalisation(spec, gain, meanImage, true, ModelIdentity.Sha256(meanImagePath));
    }

    /// <summary>Reads the [1,3,side,side] float initializer of an ONNX file such as CNTK's ResNetPreprocess.onnx.</summary>
    public static float[] LoadMeanImage(string path, int side)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"mean image file not found: {path}", path);
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"mean image file {path} is not an ONNX model: {e.Message}", e);
        }
        var wanted = 3L * side * side;
        foreach (var tensor in model.Graph.Initializer)
        {
            if (tensor.DataType == (int)TensorProto.Types.DataType.Float && OnnxTensors.ElementCount(tensor) == wanted)
                return OnnxTensors.ReadFloats(tensor);
        }
        throw new InvalidDataException(
            $"mean image file {path} has no float initializer of 3x{side}x{side} values; is the model input size {side} right?");
    }

    /// <summary>
    /// Host preprocessing: <paramref name="count"/> RGB HWC uint8 crops to the model's float layout.
    /// </summary>
    public void Normalise(ReadOnlySpan<byte> cropsHwc, int count, Span<float> modelInput)
    {
        var side = Spec.InputSize;
        var plane = side * side;
        var imageValues = plane * 3;
        if (cropsHwc.Length < count * imageValues)
            throw new ArgumentException($"{count} crops need {count * imageValues} bytes, got {cropsHwc.Length}");
        if (modelInput.Length < count * imageValues)
            throw new ArgumentException($"{count} crops need {count * imageValues} floats of model input, got {modelInput.Length}");
        int s0 = SourceChannel(0), s1 = SourceChannel(1), s2 = SourceChannel(2);
        float g0 = Gain[0], g1 = Gain[1], g2 = Gain[2];
        var offset = Offset.AsSpan();
        for (var i = 0; i < count; i++)
        {
            var crop = cropsHwc.Slice(i * imageValues, imageValues);
            var output = modelInput.Slice(i * imageValues, imageValues);
            if (Spec.Layout == TensorLayout.Nchw)
            {
                var out0 = output.Slice(0, plane);
                var out1 = output.Slice(plane, plane);
                var out2 = output.Slice(2 * plane, plane);
                for (var p = 0; p < plane; p++)
                {
                    var px = crop.Slice(p * 3, 3);
                    int o0 = OffsetIsImage ? p : 0, o1 = OffsetIsImage ? plane + p : 1, o2 = OffsetIsImage ? 2 * plane + p : 2;
                    out0[p] = px[s0] * g0 - offset[o0];
                    out1[p] = px[s1] * g1 - offset[o1];
                    out2[p] = px[s2] * g2 - offset[o2];
                }
            }
            else
            {
                for (var p = 0; p < plane; p++)
                {
                    var px = crop.Slice(p * 3, 3);
                    var o = output.Slice(p * 3, 3);
                    int o0 = OffsetIsImage ? p : 0, o1 = OffsetIsImage ? plane + p : 1, o2 = OffsetIsImage ? 2 * plane + p : 2;
                    o[0] = px[s0] * g0 - offset[o0];
                    o[1] = px[s1] * g1 - offset[o1];
                    o[2] = px[s2] * g2 - offset[o2];
                }
            }
        }
    }
}
