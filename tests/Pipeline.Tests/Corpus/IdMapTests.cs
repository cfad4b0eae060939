using Pipeline.Corpus;

namespace Pipeline.Tests.Corpus;

public class IdMapTests
{
    [Fact]
    public void Dense_ids_map_to_their_values_and_refuse_duplicates()
    {
        var map = new IdMap();
        for (int id = 0; id < 5000; id++)
            Assert.True(map.TryAdd(id, id * 2));

        Assert.False(map.TryAdd(4321, 1));
        Assert.True(map.TryGetValue(4321, out int value));
        Assert.Equal(8642, value);
        Assert.False(map.Contains(5000));
        Assert.Equal(5000, map.Count);
    }

    [Fact]
    public void Ids_far_apart_below_and_above_the_first_one_are_all_kept()
    {
        var map = new IdMap();
        long[] ids = [10_000_000, 3, -7, long.MaxValue, long.MinValue, 10_000_001, 9_999_999, 1L << 40];
        for (int i = 0; i < ids.Length; i++)
            Assert.True(map.TryAdd(ids[i], i));

        for (int i = 0; i < ids.Length; i++)
        {
            Assert.True(map.TryGetValue(ids[i], out int value));
            Assert.Equal(i, value);
            Assert.False(map.TryAdd(ids[i], 99));
        }
        Assert.Equal(ids.Length, map.Count);
    }

    [Fact]
    public void An_id_kept_aside_before_the_dense_range_reached_it_is_still_a_duplicate()
    {
        var map = new IdMap();
        Assert.True(map.TryAdd(0, 0));
        Assert.True(map.TryAdd(5_000_000, 1));           // beyond the dense limit for one id: kept aside
        for (int id = 1; id <= 700_000; id++)
            Assert.True(map.TryAdd(id, id));             // now the dense range may reach 5,000,000 (8 slots an id)

        Assert.False(map.TryAdd(5_000_000, 2));
        Assert.True(map.TryGetValue(5_000_000, out int value));
        Assert.Equal(1, value);
    }

    [Fact]
    public void Ids_spread_far_apart_do_not_each_claim_a_dense_chunk()
    {
        var map = new IdMap();
        for (long i = 0; i < 20_000; i++)
            Assert.True(map.TryAdd(i * 1_000_003, (int)i));

        for (long i = 0; i < 20_000; i += 997)
        {
            Assert.True(map.TryGetValue(i * 1_000_003, out int value));
            Assert.Equal((int)i, value);
        }
        Assert.False(map.Contains(1_000_004));
    }
}
