using Google.Protobuf;
using Onnx;
using Pipeline.Embedding;

namespace Pipeline.Tests.Embedding;

/// <summary>Small ONNX models whose embedding is known in closed form: the per-channel mean of the normalised input.</summary>
internal static class TinyModels
{
    /// <summary>NCHW [1,3,s,s] → GlobalAveragePool → Reshape to the baked-in shape [1,3]: batch 1 fixed, as old exports are.</summary>
    public static string ChannelMeanNchw(string directory, int side)
    {
        var graph = new GraphProto { Name = "channel-mean-nchw" };
        graph.Input.Add(Value("image", TensorProto.Types.DataType.Float, 1, 3, side, side));
        graph.Output.Add(Value("embedding", TensorProto.Types.DataType.Float, 1, 3));
        graph.Initializer.Add(Int64s("target_shape", [1, 3]));
        graph.Node.Add(Node("GlobalAveragePool", ["image"], ["pooled"]));
        graph.Node.Add(Node("Reshape", ["pooled", "target_shape"], ["embedding"]));
        return Save(graph, Path.Combine(directory, $"channel-mean-nchw-{side}.onnx"));
    }

    /// <summary>NHWC [1,s,s,3] → ReduceMean over height and width.</summary>
    public static string ChannelMeanNhwc(string directory, int side)
    {
        var graph = new GraphProto { Name = "channel-mean-nhwc" };
        graph.Input.Add(Value("image", TensorProto.Types.DataType.Float, 1, side, side, 3));
        graph.Output.Add(Value("embedding", TensorProto.Types.DataType.Float, 1, 3));
        var reduce = Node("ReduceMean", ["image"], ["embedding"]);
        var axes = new AttributeProto { Name = "axes", Type = AttributeProto.Types.AttributeType.Ints };
        axes.Ints.AddRange([1, 2]);
        reduce.Attribute.Add(axes);
        reduce.Attribute.Add(new AttributeProto { Name = "keepdims", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
        graph.Node.Add(reduce);
        return Save(graph, Path.Combine(directory, $"channel-mean-nhwc-{side}.onnx"));
    }

    /// <summary>A file holding one [1,3,s,s] float initializer, as CNTK's ResNetPreprocess.onnx holds its mean image.</summary>
    public static string MeanImage(string directory, int side, float[] chw)
    {
        var graph = new GraphProto { Name = "mean-image" };
        graph.Input.Add(Value("x", TensorProto.Types.DataType.Float, 1, 3, side, side));
        graph.Output.Add(Value("y", TensorProto.Types.DataType.Float, 1, 3, side, side));
        var mean = new TensorProto { Name = "MeanImage", DataType = (int)TensorProto.Types.DataType.Float };
        mean.Dims.AddRange([1, 3, side, side]);
        mean.FloatData.AddRange(chw);
        graph.Initializer.Add(mean);
        graph.Node.Add(Node("Sub", ["x", "MeanImage"], ["y"]));
        return Save(graph, Path.Combine(directory, $"mean-image-{side}.onnx"));
    }

    /// <summary>The expected embedding: per model channel, the mean over pixels of the spec's formula, in double.</summary>
    public static float[] ExpectedChannelMeans(byte[] crop, int side, ModelSpec spec, float[]? meanImageChw)
    {
        var result = new float[3];
        var plane = side * side;
        for (var c = 0; c < 3; c++)
        {
            var source = spec.ChannelOrder == ChannelOrder.Bgr ? 2 - c : c;
            double sum = 0;
            for (var p = 0; p < plane; p++)
            {
                var mean = meanImageChw is null ? 0 : meanImageChw[c * plane + p];
                sum += (crop[p * 3 + source] * (double)spec.Scale - mean - spec.Mean[c]) / spec.Std[c];
            }
            result[c] = (float)(sum / plane);
        }
        return result;
    }

    private static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    private static TensorProto Int64s(string name, long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        return t;
    }

    private static NodeProto Node(string op, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { OpType = op, Name = op + "_" + outputs[0] };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    private static string Save(GraphProto graph, string path)
    {
        var model = new ModelProto { IrVersion = 7, ProducerName = "pipeline-tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }
}
