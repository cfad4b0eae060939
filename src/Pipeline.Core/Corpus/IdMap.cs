namespace Pipeline.Corpus;

/// <summary>
/// Maps corpus ids (int64 image or annotation ids) to non-negative ints, compactly. Release ids are dense runs of
/// integers, so ids from the first one seen upward live in chunked arrays (4 bytes an id instead of a dictionary
/// entry's ~28, and no copying as they grow). The chunks never cover more than 8 slots per id held (beyond a first
/// million); an id they cannot take goes to a dictionary.
/// </summary>
internal sealed class IdMap
{
    private const long MinDenseSlots = 1 << 20;
    private const int ChunkBits = 16;
    private const int ChunkMask = (1 << ChunkBits) - 1;
    private int[]?[] _chunks = Array.Empty<int[]?>();   // value + 1 at slot (id - _base); 0 is empty
    private int _allocatedChunks;
    private long _base;
    private bool _hasBase;
    private Dictionary<long, int>? _sparse;

    public int Count { get; private set; }

    /// <summary>Adds the id with its value; false (and no change) when the id is already there.</summary>
    public bool TryAdd(long id, int value)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        if (!_hasBase)
        {
            _base = id;
            _hasBase = true;
        }
        int[]? chunk = DenseChunk(id, allocate: true);
        if (chunk is not null)
        {
            ref int cell = ref chunk[(int)((ulong)(id - _base) & ChunkMask)];
            if (cell != 0 || (_sparse is not null && _sparse.ContainsKey(id)))
                return false;
            cell = value + 1;
        }
        else
        {
            _sparse ??= new Dictionary<long, int>();
            if (!_sparse.TryAdd(id, value))
                return false;
        }
        Count++;
        return true;
    }

    public bool TryGetValue(long id, out int value)
    {
        if (DenseChunk(id, allocate: false) is int[] chunk)
        {
            int cell = chunk[(int)((ulong)(id - _base) & ChunkMask)];
            if (cell != 0)
            {
                value = cell - 1;
                return true;
            }
        }
        if (_sparse is not null && _sparse.TryGetValue(id, out value))
            return true;
        value = -1;
        return false;
    }

    public bool Contains(long id) => TryGetValue(id, out _);

    /// <summary>The chunk holding the id's slot, allocating it when allowed and within bounds; null sends the id to the dictionary.</summary>
    private int[]? DenseChunk(long id, bool allocate)
    {
        if (!_hasBase || id < _base)
            return null;
        ulong slot = (ulong)(id - _base);   // exact even where the signed difference would overflow
        ulong chunkIndex = slot >> ChunkBits;
        if (chunkIndex < (ulong)_chunks.Length && _chunks[chunkIndex] is int[] existing)
            return existing;
        if (!allocate)
            return null;
        ulong limit = (ulong)Math.Max(MinDenseSlots, 8L * (Count + 1));
        if (slot >= limit || ((ulong)_allocatedChunks + 1) << ChunkBits > limit + (1 << ChunkBits))
            return null;
        if (chunkIndex >= (ulong)_chunks.Length)
            Array.Resize(ref _chunks, (int)Math.Max((ulong)_chunks.Length * 2, chunkIndex + 1));
        _allocatedChunks++;
        return _chunks[chunkIndex] = new int[1 << ChunkBits];
    }
}
