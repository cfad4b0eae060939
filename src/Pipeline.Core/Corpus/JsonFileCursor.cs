using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Pipeline.Corpus;

/// <summary>The top-level arrays of a COCO-style corpus file that the reader looks into.</summary>
[Flags]
internal enum CorpusSection
{
    None = 0,
    Images = 1,
    Annotations = 2,
    Categories = 4,
}

/// <summary>
/// Streams one corpus JSON file through <see cref="Utf8JsonReader"/> over a pooled buffer that grows only when a
/// single token outgrows it, so memory does not depend on the file's size. The reader is a ref struct: callers hold
/// it on their stack between <see cref="Begin"/> and <see cref="Save"/>, and the cursor keeps the reader state in
/// between, so an iterator can resume element by element. Every failure becomes a <see cref="CorpusFormatException"/>
/// naming the file and position.
/// </summary>
internal sealed class JsonFileCursor : IDisposable
{
    private const int InitialBufferBytes = 64 * 1024;
    private readonly FileStream _stream;
    private byte[] _buffer;
    private int _start;                 // first byte of _buffer not yet consumed by a saved reader
    private int _end;                   // one past the last byte read from the file
    private bool _final;                // the file's last byte is in the buffer
    private JsonReaderState _state;
    private long _bufferOffset;         // file offset of _buffer[0]
    private long _linesBeforeBuffer;    // '\n' bytes in the file before _buffer[0]
    private long _columnAtBuffer;       // bytes since the last '\n' before _buffer[0]
    private bool _rootStarted;
    private bool _rootEnded;
    private CorpusSection _openSection;
    private char[] _chars = new char[256];

    public JsonFileCursor(string path)
    {
        FilePath = path;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1,
            FileOptions.SequentialScan);
        _buffer = ArrayPool<byte>.Shared.Rent(InitialBufferBytes);
        _state = new JsonReaderState(new JsonReaderOptions { MaxDepth = 256 });
        Fill();
    }

    public string FilePath { get; }

    public Utf8JsonReader Begin() => new(_buffer.AsSpan(_start, _end - _start), _final, _state);

    public void Save(ref Utf8JsonReader reader)
    {
        _start += (int)reader.BytesConsumed;
        _state = reader.CurrentState;
    }

    /// <summary>Reads the next token, refilling the buffer as needed; false only at the end of the file.</summary>
    public bool Read(ref Utf8JsonReader reader)
    {
        while (true)
        {
            bool read;
            try
            {
                read = reader.Read();
            }
            catch (JsonException e)
            {
                throw Malformed(e);
            }
            if (read)
                return true;
            if (_final)
                return false;
            Refill(ref reader);
        }
    }

    /// <summary>Reads the next token, which must exist: the end of the file here means a truncated file.</summary>
    public void ReadRequired(ref Utf8JsonReader reader)
    {
        if (!Read(ref reader))
            throw new CorpusFormatException(FilePath, _bufferOffset + _end, -1, -1, "unexpected end of file (truncated?)");
    }

    /// <summary>Skips the value whose first token the reader is on, of any shape and size.</summary>
    public void SkipValue(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
            return;
        try
        {
            if (reader.TrySkip())
                return;
        }
        catch (JsonException e)
        {
            throw Malformed(e);
        }
        int depth = reader.CurrentDepth;
        do
        {
            ReadRequired(ref reader);
        } while (reader.CurrentDepth > depth);
    }

    /// <summary>
    /// Moves to the next element object of one of the wanted top-level arrays, skipping everything else, and
    /// returns which array it belongs to; the reader is then on the element's StartObject. Returns None at the end
    /// of the file, or, with <paramref name="stopAfterSection"/>, once the first wanted array is closed.
    /// A wanted key whose value is null counts as absent.
    /// </summary>
    public CorpusSection NextElement(ref Utf8JsonReader reader, CorpusSection wanted, bool stopAfterSection = false)
    {
        if (_rootEnded)
            return CorpusSection.None;
        if (!_rootStarted)
        {
            ReadRequired(ref reader);
            if (reader.TokenType != JsonTokenType.StartObject)
                throw Error(ref reader, $"the file must hold one JSON object (COCO style), found {Describe(ref reader)}");
            _rootStarted = true;
        }
        while (true)
        {
            if (_openSection != CorpusSection.None)
            {
                ReadRequired(ref reader);
                if (reader.TokenType == JsonTokenType.StartObject)
                    return _openSection;
                if (reader.TokenType != JsonTokenType.EndArray)
                    throw Error(ref reader, $"an element of '{Name(_openSection)}' must be an object, found {Describe(ref reader)}");
                _openSection = CorpusSection.None;
                if (stopAfterSection)
                {
                    _rootEnded = true;
                    return CorpusSection.None;
                }
                continue;
            }

            ReadRequired(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                // Reading on past the root makes the reader reject trailing content.
                Read(ref reader);
                _rootEnded = true;
                return CorpusSection.None;
            }
            CorpusSection section = reader.ValueTextEquals("images"u8) ? CorpusSection.Images
                : reader.ValueTextEquals("annotations"u8) ? CorpusSection.Annotations
                : reader.ValueTextEquals("categories"u8) ? CorpusSection.Categories
                : CorpusSection.None;
            ReadRequired(ref reader);
            if (section != CorpusSection.None && (wanted & section) != 0)
            {
                if (reader.TokenType == JsonTokenType.Null)
                    continue;
                if (reader.TokenType != JsonTokenType.StartArray)
                    throw Error(ref reader, $"'{Name(section)}' must be an array, found {Describe(ref reader)}");
                _openSection = section;
                continue;
            }
            SkipValue(ref reader);
        }
    }

    /// <summary>File offset of the token the reader is on.</summary>
    public long TokenOffset(ref Utf8JsonReader reader) => _bufferOffset + _start + reader.TokenStartIndex;

    public long ReadInt64(ref Utf8JsonReader reader, string element, string field)
    {
        ReadRequired(ref reader);
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long value))
            throw Error(ref reader, $"{element} field '{field}' must be an integer, found {Describe(ref reader)}");
        return value;
    }

    public int ReadInt32(ref Utf8JsonReader reader, string element, string field)
    {
        ReadRequired(ref reader);
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out int value))
            throw Error(ref reader, $"{element} field '{field}' must be a 32-bit integer, found {Describe(ref reader)}");
        return value;
    }

    /// <summary>The number the reader is on (inside an array the caller walks).</summary>
    public double CurrentNumber(ref Utf8JsonReader reader, string element, string field)
    {
        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out double value) || !double.IsFinite(value))
            throw Error(ref reader, $"{element} field '{field}' must be a finite number, found {Describe(ref reader)}");
        return value;
    }

    public string ReadString(ref Utf8JsonReader reader, string element, string field)
    {
        ReadRequired(ref reader);
        if (reader.TokenType != JsonTokenType.String)
            throw Error(ref reader, $"{element} field '{field}' must be a string, found {Describe(ref reader)}");
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw Error(ref reader, $"{element} field '{field}' is not valid UTF-8 text: {e.Message}");
        }
    }

    /// <summary>
    /// Reads a string value into a buffer the cursor reuses, without allocating a string; the span is valid until the
    /// next call.
    /// </summary>
    public ReadOnlySpan<char> ReadStringChars(ref Utf8JsonReader reader, string element, string field)
    {
        ReadRequired(ref reader);
        if (reader.TokenType != JsonTokenType.String)
            throw Error(ref reader, $"{element} field '{field}' must be a string, found {Describe(ref reader)}");
        // Unescaped UTF-16 never needs more chars than the raw UTF-8 has bytes.
        int maxChars = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        if (_chars.Length < maxChars)
            _chars = new char[Math.Max(maxChars, 2 * _chars.Length)];
        try
        {
            int written = reader.CopyString(_chars);
            return _chars.AsSpan(0, written);
        }
        catch (InvalidOperationException e)
        {
            throw Error(ref reader, $"{element} field '{field}' is not valid UTF-8 text: {e.Message}");
        }
    }

    /// <summary>An error at the token the reader is on.</summary>
    public CorpusFormatException Error(ref Utf8JsonReader reader, string problem) =>
        ErrorAtBufferIndex(_start + (int)reader.TokenStartIndex, problem);

    /// <summary>An error at a file offset met earlier (line and column when it is still in the buffer).</summary>
    public CorpusFormatException ErrorAt(long fileOffset, string problem)
    {
        long index = fileOffset - _bufferOffset;
        if (index >= 0 && index <= _end)
            return ErrorAtBufferIndex((int)index, problem);
        return new CorpusFormatException(FilePath, fileOffset, -1, -1, problem);
    }

    public void Dispose()
    {
        _stream.Dispose();
        byte[] buffer = _buffer;
        _buffer = Array.Empty<byte>();
        if (buffer.Length > 0)
            ArrayPool<byte>.Shared.Return(buffer);
    }

    private CorpusFormatException ErrorAtBufferIndex(int index, string problem)
    {
        ReadOnlySpan<byte> before = _buffer.AsSpan(0, index);
        long line = _linesBeforeBuffer + before.Count((byte)'\n') + 1;
        int lastNewline = before.LastIndexOf((byte)'\n');
        long column = (lastNewline >= 0 ? index - lastNewline - 1 : _columnAtBuffer + index) + 1;
        return new CorpusFormatException(FilePath, _bufferOffset + index, line, column, problem);
    }

    private CorpusFormatException Malformed(JsonException e)
    {
        string problem = e.Message;
        int cut = problem.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0)
            problem = problem[..cut];
        problem = "malformed JSON: " + problem;
        if (e.LineNumber is not long line0 || e.BytePositionInLine is not long column0)
            return new CorpusFormatException(FilePath, _bufferOffset + _start, -1, -1, problem, e);

        // The reader state counts lines across refills; find that line's start in the buffer for the byte offset.
        long linesIntoBuffer = line0 - _linesBeforeBuffer;
        long offset = -1;
        if (linesIntoBuffer == 0)
        {
            offset = _bufferOffset - _columnAtBuffer + column0;
        }
        else if (linesIntoBuffer > 0)
        {
            int index = 0;
            for (long seen = 0; seen < linesIntoBuffer && index >= 0; seen++)
            {
                int next = _buffer.AsSpan(index, _end - index).IndexOf((byte)'\n');
                index = next < 0 ? -1 : index + next + 1;
            }
            if (index >= 0)
                offset = _bufferOffset + index + column0;
        }
        return new CorpusFormatException(FilePath, offset, line0 + 1, column0 + 1, problem, e);
    }

    private void Refill(ref Utf8JsonReader reader)
    {
        Save(ref reader);
        ReadOnlySpan<byte> consumed = _buffer.AsSpan(0, _start);
        _linesBeforeBuffer += consumed.Count((byte)'\n');
        int lastNewline = consumed.LastIndexOf((byte)'\n');
        _columnAtBuffer = lastNewline >= 0 ? _start - lastNewline - 1 : _columnAtBuffer + _start;
        _bufferOffset += _start;

        int pending = _end - _start;
        if (pending == _buffer.Length)
        {
            // One token fills the whole buffer: grow it (rare: a very long string or number).
            byte[] larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            Buffer.BlockCopy(_buffer, _start, larger, 0, pending);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        else if (pending > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
        }
        _start = 0;
        _end = pending;
        Fill();
        reader = Begin();
    }

    private void Fill()
    {
        while (_end < _buffer.Length)
        {
            int read = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (read == 0)
            {
                _final = true;
                return;
            }
            _end += read;
        }
    }

    private static string Name(CorpusSection section) => section switch
    {
        CorpusSection.Images => "images",
        CorpusSection.Annotations => "annotations",
        CorpusSection.Categories => "categories",
        _ => section.ToString(),
    };

    /// <summary>The token for a message: its type and, for scalars, a short excerpt of its text.</summary>
    private static string Describe(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject: return "an object";
            case JsonTokenType.StartArray: return "an array";
            case JsonTokenType.Null: return "null";
            case JsonTokenType.True: return "true";
            case JsonTokenType.False: return "false";
            case JsonTokenType.String: return "the string \"" + Excerpt(reader.ValueSpan) + "\"";
            case JsonTokenType.Number: return "the number " + Excerpt(reader.ValueSpan);
            default: return reader.TokenType.ToString();
        }
    }

    private static string Excerpt(ReadOnlySpan<byte> raw)
    {
        const int MaxBytes = 40;
        return raw.Length <= MaxBytes ? Encoding.UTF8.GetString(raw) : Encoding.UTF8.GetString(raw[..MaxBytes]) + "...";
    }
}
