using AgentRl.Grains.Training.Phases;
using AgentRl.Policy.Checkpoints;

namespace AgentRl.Cluster.Tests.Training;

public sealed class StorageOutageTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Clock_BacksOffFrom2sDoublingTo30s_ThenFailsPastTheTimeout()
    {
        var clock = new OutageClock(TimeSpan.FromMinutes(2));
        var waits = new List<double>();
        var now = T0;
        while (clock.Failed(now, step: 3) is { } wait && waits.Count < 100)
        {
            waits.Add(wait.TotalSeconds);
            now += wait;
        }

        // 2 + 4 + 8 + 16 + 30 + 30 + 30 = 120 s: the last wait is cut to what the timeout leaves.
        Assert.Equal([2, 4, 8, 16, 30, 30, 30], waits);
        Assert.Equal(T0, clock.Since);
        Assert.Null(clock.Failed(now + TimeSpan.FromSeconds(1), step: 3));
    }

    [Fact]
    public void Clock_AFailureAfterProgress_StartsANewOutage()
    {
        var clock = new OutageClock(TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(2), clock.Failed(T0, step: 1));
        Assert.Equal(TimeSpan.FromSeconds(4), clock.Failed(T0.AddSeconds(2), step: 1));

        // The run got to step 2 in between: the earlier outage is over, the budget and the back-off start again.
        Assert.Equal(TimeSpan.FromSeconds(2), clock.Failed(T0.AddSeconds(9), step: 2));
        Assert.Equal(T0.AddSeconds(9), clock.Since);
        Assert.Equal(TimeSpan.FromSeconds(4), clock.Failed(T0.AddSeconds(15), step: 2));
    }

    [Fact]
    public void Clock_ZeroTimeout_FailsAtTheFirstOutage() =>
        Assert.Null(new OutageClock(TimeSpan.Zero).Failed(T0, 0));

    [Fact]
    public void Is_StoreErrorsAndRedis_NotMissingCheckpointsOrOtherFailures()
    {
        var store = new CheckpointStoreException("azure-blob checkpoint store http://127.0.0.1:1/devstoreaccount1: could not publish v000003: connection refused");
        Assert.True(StorageOutage.Is(store));
        Assert.True(StorageOutage.Is(new AggregateException(new InvalidOperationException("wrapped", store))));
        Assert.True(StorageOutage.Is(new Orleans.Runtime.OrleansException("Error from storage provider", new StackExchange.Redis.RedisConnectionException(StackExchange.Redis.ConnectionFailureType.UnableToConnect, "It was not possible to connect to the redis server(s)."))));
        Assert.False(StorageOutage.Is(new CheckpointNotFoundException("v000009 is not in the store")));
        Assert.False(StorageOutage.Is(new InvalidOperationException("a bug")));
        Assert.False(StorageOutage.Is(new IOException("disk full")));

        Assert.Equal(store.Message, StorageOutage.Reason(new AggregateException(new InvalidOperationException("wrapped", store))));
    }
}
