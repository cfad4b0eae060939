using Onnx;

namespace Pipeline.Embedding;

/// <summary>
/// Rewrites an ONNX image model (OnnxSharp's protobuf types) for fast batched embedding: a symbolic batch dimension,
/// BatchNormalization folded into the Conv before it, optionally float16 weights, and optionally the
/// normalisation moved into the graph so that callers send uint8 NHWC pixels (a quarter of the bytes).
/// </summary>
public static class ModelGraphRewriter
{
    /// <summary>The uint8 [batch, H, W, 3] RGB input a prepared model takes when pixels are normalised in the graph.</summary>
    public const string PixelInputName = "pixels";

    public const string BatchDimName = "batch";

    private const long CastToFloat = (long)TensorProto.Types.DataType.Float;
    private const long CastToFloat16 = (long)TensorProto.Types.DataType.Float16;

    /// <summary>What a prepared model looks like from outside.</summary>
    public sealed record PreparedGraph(string InputName, string OutputName, int FoldedBatchNorms, int ConvertedInitializers);

    /// <summary>Applies every rewrite in place; the model keeps its float output, whatever the precision inside.</summary>
    public static PreparedGraph Prepare(ModelProto model, PixelNormalisation normalisation, EmbeddingPrecision precision, bool pixelsInGraph)
    {
        var graph = model.Graph ?? throw new InvalidDataException("the ONNX file has no graph");
        RemoveInitializersFromInputs(graph);
        var input = ImageInput(graph, normalisation.Spec);
        if (graph.Output.Count == 0) throw new InvalidDataException("the model has no output");
        var outputName = graph.Output[0].Name;
        MakeBatchSymbolic(graph, input);
        var folded = FoldBatchNormIntoConv(graph);
        // A BGR model whose input feeds only Conv takes RGB with its weights' input channels swapped: one pass fewer.
        var flipFolded = pixelsInGraph && normalisation.Spec.ChannelOrder == ChannelOrder.Bgr &&
                         FoldChannelFlipIntoConv(graph, input.Name, normalisation.Spec.Layout);
        // In float16 the pixels are normalised in float16 too: half the memory traffic (0..255 are exact in float16).
        var halfPixels = pixelsInGraph && precision == EmbeddingPrecision.Fp16;
        var converted = 0;
        var normalisedName = input.Name;
        if (precision == EmbeddingPrecision.Fp16)
        {
            converted = ConvertToFloat16(graph, input.Name, outputName, castInput: !halfPixels);
            if (halfPixels) normalisedName = HalfName(input.Name);
        }
        var inputName = input.Name;
        if (pixelsInGraph)
        {
            PrependPixelNormalisation(graph, normalisation, normalisedName, halfPixels, flipFolded);
            inputName = PixelInputName;
        }
        // Initializers that are not graph inputs need IR version 4 or later.
        if (model.IrVersion < 4) model.IrVersion = 4;
        return new PreparedGraph(inputName, outputName, folded, converted);
    }

    /// <summary>IR 3 models may list weights as inputs; ORT then treats them as overridable and cannot fold them.</summary>
    internal static void RemoveInitializersFromInputs(GraphProto graph)
    {
        var initializers = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer) initializers.Add(t.Name);
        for (var i = graph.Input.Count - 1; i >= 0; i--)
        {
            if (initializers.Contains(graph.Input[i].Name)) graph.Input.RemoveAt(i);
        }
    }

    /// <summary>The one 4-D float image input, checked against the spec's size and layout.</summary>
    internal static ValueInfoProto ImageInput(GraphProto graph, ModelSpec spec)
    {
        if (graph.Input.Count != 1)
            throw new InvalidDataException($"an image model must have exactly one input, this one has {graph.Input.Count}");
        var input = graph.Input[0];
        var tensor = input.Type?.TensorType
            ?? throw new InvalidDataException($"model input '{input.Name}' is not a tensor");
        if (tensor.ElemType != OnnxTensors.Float)
            throw new InvalidDataException($"model input '{input.Name}' has element type {tensor.ElemType}; only float inputs are supported");
        var dims = tensor.Shape?.Dim;
        if (dims is null || dims.Count != 4)
            throw new InvalidDataException($"model input '{input.Name}' is not 4-D (batch, and three image dimensions)");
        var (channelAxis, heightAxis, widthAxis) = spec.Layout == TensorLayout.Nchw ? (1, 2, 3) : (3, 1, 2);
        CheckDim(input.Name, dims[channelAxis], 3, "channels", spec);
        CheckDim(input.Name, dims[heightAxis], spec.InputSize, "height", spec);
        CheckDim(input.Name, dims[widthAxis], spec.InputSize, "width", spec);
        return input;
    }

    private static void CheckDim(string name, TensorShapeProto.Types.Dimension dim, int expected, string what, ModelSpec spec)
    {
        if (dim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && dim.DimValue != expected)
            throw new InvalidDataException(
                $"model input '{name}' has {what} {dim.DimValue}, but the model spec says {expected} " +
                $"(input size {spec.InputSize}, layout {spec.Layout}); set the spec to match the model");
    }

    /// <summary>Sets the batch dimension of the input and outputs symbolic and fixes Reshape targets that baked it in.</summary>
    internal static void MakeBatchSymbolic(GraphProto graph, ValueInfoProto input)
    {
        var batchDim = input.Type.TensorType.Shape.Dim[0];
        long? fixedBatch = batchDim.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? batchDim.DimValue : null;
        SetBatchParam(input);
        foreach (var output in graph.Output) SetBatchParam(output);
        // Intermediate shapes were inferred for the fixed batch; ORT infers them again.
        graph.ValueInfo.Clear();
        if (fixedBatch is null) return;

        var initializers = InitializersByName(graph);
        var uses = UseCounts(graph);
        foreach (var node in graph.Node)
        {
            if (node.OpType != "Reshape" || node.Input.Count < 2) continue;
            if (!initializers.TryGetValue(node.Input[1], out var shapeTensor)) continue;
            var shape = OnnxTensors.ReadInt64s(shapeTensor);
            if (shape.Length < 2 || shape[0] != fixedBatch.Value || AllowZero(node)) continue;
            // Reshape's 0 copies that dimension from its input: the batch, whatever it is at run time.
            shape[0] = 0;
            if (uses[shapeTensor.Name] > 1)
            {
                var copy = OnnxTensors.NewInt64(shapeTensor.Name + "_batch", shape, shapeTensor.Dims.ToArray());
                graph.Initializer.Add(copy);
                initializers[copy.Name] = copy;
                node.Input[1] = copy.Name;
            }
            else
            {
                OnnxTensors.WriteInt64s(shapeTensor, shape);
            }
        }
    }

    private static bool AllowZero(NodeProto node)
    {
        foreach (var a in node.Attribute)
        {
            if (a.Name == "allowzero") return a.I != 0;
        }
        return false;
    }

    private static void SetBatchParam(ValueInfoProto value)
    {
        var dims = value.Type?.TensorType?.Shape?.Dim;
        if (dims is null || dims.Count == 0) return;
        dims[0] = new TensorShapeProto.Types.Dimension { DimParam = BatchDimName };
    }

    /// <summary>
    /// Conv followed only by inference-mode BatchNormalization becomes one Conv with scaled weights and a bias
    /// (computed in double): fewer kernels, and no float16 batch-norm statistics later.
    /// </summary>
    internal static int FoldBatchNormIntoConv(GraphProto graph)
    {
        var initializers = InitializersByName(graph);
        var uses = UseCounts(graph);
        var graphOutputs = new HashSet<string>(StringComparer.Ordinal);
        foreach (var o in graph.Output) graphOutputs.Add(o.Name);
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var o in node.Output) producers[o] = node;
        }

        var folded = 0;
        for (var n = graph.Node.Count - 1; n >= 0; n--)
        {
            var bn = graph.Node[n];
            if (bn.OpType != "BatchNormalization" || bn.Input.Count != 5 || !OnlyFirstOutput(bn)) continue;
            var convOut = bn.Input[0];
            if (!producers.TryGetValue(convOut, out var conv) || conv.OpType != "Conv") continue;
            if (uses[convOut] != 1 || graphOutputs.Contains(convOut)) continue;
            if (!initializers.TryGetValue(conv.Input[1], out var weight) || weight.DataType != OnnxTensors.Float) continue;
            TensorProto? bias = null;
            if (conv.Input.Count > 2 && conv.Input[2].Length > 0 &&
                (!initializers.TryGetValue(conv.Input[2], out bias) || bias.DataType != OnnxTensors.Float)) continue;
            var stats = new float[4][];
            var ok = true;
            var channels = weight.Dims[0];
            for (var i = 0; i < 4 && ok; i++)
            {
                ok = initializers.TryGetValue(bn.Input[i + 1], out var t) && t.DataType == OnnxTensors.Float &&
                     OnnxTensors.ElementCount(t) == channels;
                if (ok) stats[i] = OnnxTensors.ReadFloats(t!);
            }
            if (!ok) continue;

            var epsilon = 1e-5;
            foreach (var a in bn.Attribute)
            {
                if (a.Name == "epsilon") epsilon = a.F;
            }
            var (gamma, beta, mean, variance) = (stats[0], stats[1], stats[2], stats[3]);
            var w = OnnxTensors.ReadFloats(weight);
            var b = bias is null ? new float[channels] : OnnxTensors.ReadFloats(bias);
            var perChannel = w.Length / (int)channels;
            for (var c = 0; c < channels; c++)
            {
                var s = gamma[c] / Math.Sqrt(variance[c] + epsilon);
                var row = w.AsSpan(c * perChannel, perChannel);
                for (var i = 0; i < row.Length; i++) row[i] = (float)(row[i] * s);
                b[c] = (float)((b[c] - mean[c]) * s + beta[c]);
            }

            var weightName = uses[weight.Name] == 1 ? weight.Name : UniqueName(initializers, weight.Name + "_bnfolded");
            if (weightName == weight.Name) OnnxTensors.WriteFloats(weight, w);
            else AddInitializer(graph, initializers, OnnxTensors.NewFloat(weightName, w, weight.Dims.ToArray()));
            var biasName = UniqueName(initializers, (conv.Name.Length > 0 ? conv.Name : conv.Output[0]) + "_bnbias");
            AddInitializer(graph, initializers, OnnxTensors.NewFloat(biasName, b, channels));
            conv.Input[1] = weightName;
            if (conv.Input.Count > 2) conv.Input[2] = biasName;
            else conv.Input.Add(biasName);
            conv.Output[0] = bn.Output[0];
            graph.Node.RemoveAt(n);
            folded++;
        }
        RemoveUnusedInitializers(graph);
        return folded;
    }

    private static bool OnlyFirstOutput(NodeProto node)
    {
        for (var i = 1; i < node.Output.Count; i++)
        {
            if (node.Output[i].Length > 0) return false;
        }
        return true;
    }

    /// <summary>
    /// Float weights, constants and casts become float16; a Cast after the (float) input and before the (float)
    /// output keeps the model's interface as it was. Returns how many initializers were converted.
    /// </summary>
    internal static string HalfName(string name) => name + "_fp16";

    /// <summary>
    /// When every consumer of the input is a Conv (group 1) over 3 input channels with its own weights, swaps the
    /// weights' input channels 0 and 2, so that the Conv reads RGB as it read BGR. Exact; returns whether it applied.
    /// </summary>
    internal static bool FoldChannelFlipIntoConv(GraphProto graph, string inputName, TensorLayout layout)
    {
        if (layout != TensorLayout.Nchw) return false;
        var initializers = InitializersByName(graph);
        var uses = UseCounts(graph);
        var weights = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            var consumes = false;
            foreach (var i in node.Input) consumes |= i == inputName;
            if (!consumes) continue;
            if (node.OpType != "Conv" || node.Input[0] != inputName || node.Input.Count < 2) return false;
            for (var i = 1; i < node.Input.Count; i++)
            {
                if (node.Input[i] == inputName) return false;
            }
            foreach (var a in node.Attribute)
            {
                if (a.Name == "group" && a.I != 1) return false;
            }
            if (!initializers.TryGetValue(node.Input[1], out var w) || w.DataType != OnnxTensors.Float || w.Dims.Count != 4 || w.Dims[1] != 3)
                return false;
            weights[w.Name] = weights.GetValueOrDefault(w.Name) + 1;
        }
        if (weights.Count == 0) return false;
        foreach (var (name, convUses) in weights)
        {
            if (uses[name] != convUses) return false;
        }
        foreach (var name in weights.Keys)
        {
            var w = initializers[name];
            var values = OnnxTensors.ReadFloats(w);
            var plane = (int)(w.Dims[2] * w.Dims[3]);
            for (var m = 0; m < w.Dims[0]; m++)
            {
                var red = values.AsSpan((m * 3 + 0) * plane, plane);
                var blue = values.AsSpan((m * 3 + 2) * plane, plane);
                for (var i = 0; i < plane; i++) (red[i], blue[i]) = (blue[i], red[i]);
            }
            OnnxTensors.WriteFloats(w, values);
        }
        return true;
    }

    internal static int ConvertToFloat16(GraphProto graph, string inputName, string outputName, bool castInput = true)
    {
        // Operands that the operator requires in float whatever the data type (Resize's roi and scales, Upsample's scales).
        var keepFloat = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            if (node.OpType == "Resize")
            {
                for (var i = 1; i < Math.Min(3, node.Input.Count); i++) keepFloat.Add(node.Input[i]);
            }
            else if (node.OpType == "Upsample" && node.Input.Count > 1)
            {
                keepFloat.Add(node.Input[1]);
            }
        }
        var converted = 0;
        foreach (var t in graph.Initializer)
        {
            if (t.DataType != OnnxTensors.Float || keepFloat.Contains(t.Name)) continue;
            OnnxTensors.ConvertToFloat16(t);
            converted++;
        }
        foreach (var node in graph.Node)
        {
            foreach (var a in node.Attribute)
            {
                if (node.OpType == "Constant" && a.T is { } value && value.DataType == OnnxTensors.Float && !keepFloat.Contains(node.Output[0]))
                    OnnxTensors.ConvertToFloat16(value);
                if (node.OpType == "Cast" && a.Name == "to" && a.I == CastToFloat)
                    a.I = CastToFloat16;
            }
        }

        var inputHalf = HalfName(inputName);
        var outputHalf = HalfName(outputName);
        foreach (var node in graph.Node)
        {
            for (var i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == inputName) node.Input[i] = inputHalf;
                else if (node.Input[i] == outputName) node.Input[i] = outputHalf;
            }
            for (var i = 0; i < node.Output.Count; i++)
            {
                if (node.Output[i] == outputName) node.Output[i] = outputHalf;
            }
        }
        if (castInput) graph.Node.Insert(0, Cast(inputName, inputHalf, CastToFloat16));
        graph.Node.Add(Cast(outputHalf, outputName, CastToFloat));
        return converted;
    }

    /// <summary>
    /// Replaces the float image input with a uint8 [batch, H, W, 3] RGB input and the nodes that normalise it into
    /// <paramref name="normalisedName"/>: Cast to float (or float16), channel flip (BGR models, unless folded into the
    /// first Conv), Transpose to NCHW (NCHW models), Mul by the gain, Sub the offset.
    /// </summary>
    internal static void PrependPixelNormalisation(
        GraphProto graph, PixelNormalisation normalisation, string normalisedName, bool half, bool flipFolded)
    {
        var spec = normalisation.Spec;
        var side = spec.InputSize;
        var names = AllNames(graph);
        string Fresh(string stem)
        {
            var name = stem;
            for (var i = 1; names.Contains(name); i++) name = stem + "_" + i;
            names.Add(name);
            return name;
        }
        if (names.Contains(PixelInputName))
            throw new InvalidDataException($"the model already has a tensor named '{PixelInputName}'");
        names.Add(PixelInputName);

        var nodes = new List<NodeProto>();
        var current = Fresh("pixels_float");
        nodes.Add(Cast(PixelInputName, current, half ? CastToFloat16 : CastToFloat));
        if (spec.ChannelOrder == ChannelOrder.Bgr && !flipFolded)
        {
            var flip = Fresh("rgb_to_bgr_indices");
            graph.Initializer.Add(OnnxTensors.NewInt64(flip, [2, 1, 0], 3));
            var bgr = Fresh("pixels_bgr");
            var gather = new NodeProto { OpType = "Gather", Name = Fresh("RgbToBgr") };
            gather.Input.Add(current);
            gather.Input.Add(flip);
            gather.Output.Add(bgr);
            gather.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 3 });
            nodes.Add(gather);
            current = bgr;
        }
        if (spec.Layout == TensorLayout.Nchw)
        {
            var nchw = Fresh("pixels_nchw");
            var transpose = new NodeProto { OpType = "Transpose", Name = Fresh("NhwcToNchw") };
            transpose.Input.Add(current);
            transpose.Output.Add(nchw);
            var perm = new AttributeProto { Name = "perm", Type = AttributeProto.Types.AttributeType.Ints };
            perm.Ints.AddRange([0, 3, 1, 2]);
            transpose.Attribute.Add(perm);
            nodes.Add(transpose);
            current = nchw;
        }
        // With the flip folded into the Conv, the tensor stays in RGB order, and so must gain and offset.
        var gain = flipFolded ? SwapRedBlue(normalisation.Gain, 1) : normalisation.Gain;
        var offset = flipFolded ? SwapRedBlue(normalisation.Offset, normalisation.Offset.Length / 3) : normalisation.Offset;
        if (gain[0] != 1f || gain[1] != 1f || gain[2] != 1f)
        {
            var gainName = Fresh("pixel_gain");
            graph.Initializer.Add(Constant(gainName, gain, half, ChannelShape(spec.Layout, 1, 1)));
            var scaled = Fresh("pixels_scaled");
            nodes.Add(Binary("Mul", current, gainName, scaled, Fresh("PixelGain")));
            current = scaled;
        }
        var offsetName = Fresh("pixel_offset");
        if (normalisation.OffsetIsImage)
        {
            if (spec.Layout == TensorLayout.Nhwc) offset = ChwToHwc(offset, side);
            graph.Initializer.Add(Constant(offsetName, offset, half, ChannelShape(spec.Layout, side, side)));
        }
        else
        {
            graph.Initializer.Add(Constant(offsetName, offset, half, ChannelShape(spec.Layout, 1, 1)));
        }
        nodes.Add(Binary("Sub", current, offsetName, normalisedName, Fresh("PixelOffset")));

        for (var i = nodes.Count - 1; i >= 0; i--) graph.Node.Insert(0, nodes[i]);
        graph.Input.Clear();
        var pixels = new ValueInfoProto
        {
            Name = PixelInputName,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = OnnxTensors.Uint8, Shape = new TensorShapeProto() } },
        };
        pixels.Type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = BatchDimName });
        pixels.Type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = side });
        pixels.Type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = side });
        pixels.Type.TensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = 3 });
        graph.Input.Add(pixels);
    }

    private static TensorProto Constant(string name, float[] values, bool half, long[] dims)
    {
        var tensor = OnnxTensors.NewFloat(name, values, dims);
        if (half) OnnxTensors.ConvertToFloat16(tensor);
        return tensor;
    }

    /// <summary>Channel planes 0 and 2 of a CHW array (or of 3 per-channel values) swapped, in a copy.</summary>
    private static float[] SwapRedBlue(float[] chw, int plane)
    {
        var swapped = (float[])chw.Clone();
        chw.AsSpan(0, plane).CopyTo(swapped.AsSpan(2 * plane, plane));
        chw.AsSpan(2 * plane, plane).CopyTo(swapped.AsSpan(0, plane));
        return swapped;
    }

    private static long[] ChannelShape(TensorLayout layout, int height, int width) =>
        layout == TensorLayout.Nchw ? [1, 3, height, width] : [1, height, width, 3];

    private static float[] ChwToHwc(float[] chw, int side)
    {
        var plane = side * side;
        var hwc = new float[chw.Length];
        for (var c = 0; c < 3; c++)
        {
            for (var p = 0; p < plane; p++) hwc[p * 3 + c] = chw[c * plane + p];
        }
        return hwc;
    }

    private static NodeProto Cast(string input, string output, long to)
    {
        var node = new NodeProto { OpType = "Cast", Name = output + "_cast" };
        node.Input.Add(input);
        node.Output.Add(output);
        node.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = to });
        return node;
    }

    private static NodeProto Binary(string op, string a, string b, string output, string name)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.Add(a);
        node.Input.Add(b);
        node.Output.Add(output);
        return node;
    }

    private static Dictionary<string, TensorProto> InitializersByName(GraphProto graph)
    {
        var map = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer) map[t.Name] = t;
        return map;
    }

    private static Dictionary<string, int> UseCounts(GraphProto graph)
    {
        var uses = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var i in node.Input) uses[i] = uses.GetValueOrDefault(i) + 1;
        }
        return uses;
    }

    private static HashSet<string> AllNames(GraphProto graph)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer) names.Add(t.Name);
        foreach (var i in graph.Input) names.Add(i.Name);
        foreach (var node in graph.Node)
        {
            names.Add(node.Name);
            foreach (var o in node.Output) names.Add(o);
            foreach (var i in node.Input) names.Add(i);
        }
        return names;
    }

    private static string UniqueName(Dictionary<string, TensorProto> initializers, string stem)
    {
        var name = stem;
        for (var i = 1; initializers.ContainsKey(name); i++) name = stem + "_" + i;
        return name;
    }

    private static void AddInitializer(GraphProto graph, Dictionary<string, TensorProto> initializers, TensorProto tensor)
    {
        graph.Initializer.Add(tensor);
        initializers[tensor.Name] = tensor;
    }

    private static void RemoveUnusedInitializers(GraphProto graph)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var i in node.Input) used.Add(i);
        }
        foreach (var o in graph.Output) used.Add(o.Name);
        for (var i = graph.Initializer.Count - 1; i >= 0; i--)
        {
            if (!used.Contains(graph.Initializer[i].Name)) graph.Initializer.RemoveAt(i);
        }
    }
}
