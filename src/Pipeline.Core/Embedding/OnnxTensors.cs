using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Pipeline.Embedding;

/// <summary>Reading and writing ONNX initializer tensors (float, float16, int64), whichever field holds the data.</summary>
internal static class OnnxTensors
{
    public const int Float = (int)TensorProto.Types.DataType.Float;
    public const int Float16 = (int)TensorProto.Types.DataType.Float16;
    public const int Int64 = (int)TensorProto.Types.DataType.Int64;
    public const int Uint8 = (int)TensorProto.Types.DataType.Uint8;

    public static long ElementCount(TensorProto tensor)
    {
        long count = 1;
        foreach (var d in tensor.Dims) count *= d;
        return count;
    }

    public static float[] ReadFloats(TensorProto tensor)
    {
        if (tensor.DataType != Float)
            throw new InvalidDataException($"initializer '{tensor.Name}' is of type {tensor.DataType}, not float");
        if (tensor.DataLocation == TensorProto.Types.DataLocation.External)
            throw new NotSupportedException($"initializer '{tensor.Name}' keeps its data in an external file; save the model with its weights inside");
        var count = checked((int)ElementCount(tensor));
        if (tensor.FloatData.Count == count)
        {
            var values = new float[count];
            tensor.FloatData.CopyTo(values, 0);
            return values;
        }
        if (tensor.RawData.Length == count * sizeof(float))
            return MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray();
        throw new InvalidDataException($"initializer '{tensor.Name}' holds neither {count} floats nor {count * 4} raw bytes");
    }

    public static long[] ReadInt64s(TensorProto tensor)
    {
        var count = checked((int)ElementCount(tensor));
        if (tensor.Int64Data.Count == count)
        {
            var values = new long[count];
            tensor.Int64Data.CopyTo(values, 0);
            return values;
        }
        if (tensor.RawData.Length == count * sizeof(long))
            return MemoryMarshal.Cast<byte, long>(tensor.RawData.Span).ToArray();
        throw new InvalidDataException($"initializer '{tensor.Name}' holds neither {count} int64 values nor raw bytes of them");
    }

    /// <summary>Replaces the tensor's data with these floats (raw little-endian bytes), keeping name and dims.</summary>
    public static void WriteFloats(TensorProto tensor, ReadOnlySpan<float> values)
    {
        tensor.FloatData.Clear();
        tensor.DataType = Float;
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
    }

    public static void WriteInt64s(TensorProto tensor, ReadOnlySpan<long> values)
    {
        tensor.Int64Data.Clear();
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
    }

    /// <summary>Converts a float tensor to float16 in place (IEEE half, round to nearest even, saturating).</summary>
    public static void ConvertToFloat16(TensorProto tensor)
    {
        var values = ReadFloats(tensor);
        var halves = new ushort[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var v = Math.Clamp(values[i], -65504f, 65504f);
            halves[i] = BitConverter.HalfToUInt16Bits((Half)v);
        }
        tensor.FloatData.Clear();
        tensor.DataType = Float16;
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(halves.AsSpan()));
    }

    public static TensorProto NewFloat(string name, ReadOnlySpan<float> values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = Float };
        tensor.Dims.AddRange(dims);
        WriteFloats(tensor, values);
        return tensor;
    }

    public static TensorProto NewInt64(string name, ReadOnlySpan<long> values, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = Int64 };
        tensor.Dims.AddRange(dims);
        WriteInt64s(tensor, values);
        return tensor;
    }
}
