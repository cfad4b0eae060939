namespace Pipeline.Corpus;

/// <summary>
/// An append-only list stored in fixed-size chunks: growing never copies or leaves a discarded array behind, so a
/// list of half a million boxes costs its elements plus at most one partly filled chunk.
/// </summary>
internal sealed class ChunkedList<T>
{
    private const int ChunkBits = 14;
    private const int ChunkLength = 1 << ChunkBits;
    private const int OffsetMask = ChunkLength - 1;
    private T[][] _chunks = new T[8][];
    private int _chunkCount;

    public int Count { get; private set; }

    public void Add(T item)
    {
        int chunk = Count >> ChunkBits;
        if (chunk == _chunkCount)
        {
            if (_chunkCount == _chunks.Length)
                Array.Resize(ref _chunks, _chunks.Length * 2);
            _chunks[_chunkCount++] = new T[ChunkLength];
        }
        _chunks[chunk][Count & OffsetMask] = item;
        Count++;
    }

    public ref T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"the list holds {Count} items");
            return ref _chunks[index >> ChunkBits][index & OffsetMask];
        }
    }
}
