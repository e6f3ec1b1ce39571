using AgentRl.Abstractions.Training;
using AgentRl.Policy.Checkpoints;

namespace AgentRl.Cluster.Tests.Training;

public sealed class StepCheckpointsTests
{
    [Fact]
    public void Pinned_WarmStartAndBestByEvalAccuracy_LatestOfEqualBest()
    {
        StepCheckpoint[] checkpoints =
        [
            new(0, 10, 0.25),
            new(1, 11, null),
            new(2, 12, 0.5),
            new(3, 13, null),
            new(4, 14, 0.5),
            new(5, 15, 0.375),
        ];

        Assert.Equal([10L, 14L], StepCheckpoints.Pinned(checkpoints));
        Assert.Equal([10L], StepCheckpoints.Pinned([new(0, 10, 0.5), new(1, 11, 0.25)]));   // the warm start is also the best
        Assert.Equal([11L], StepCheckpoints.Pinned([new(1, 11, 0.25), new(2, 12, null)]));  // no warm start (a resumed run's file of an older version)
        Assert.Empty(StepCheckpoints.Pinned([]));
    }

    [Fact]
    public void Record_StepDoneAgainAfterAResume_ReplacesItAndLaterSteps()
    {
        IReadOnlyList<StepCheckpoint> recorded = [new(0, 3, 0.1), new(1, 4, null), new(2, 5, null), new(3, 6, 0.2)];

        var again = StepCheckpoints.Record(recorded, new StepCheckpoint(2, 9, 0.3));

        Assert.Equal([new(0, 3, 0.1), new(1, 4, null), new StepCheckpoint(2, 9, 0.3)], again);
        Assert.Equal([0, 1, 2, 3], StepCheckpoints.Record(again, new StepCheckpoint(3, 10, null)).Select(c => c.Step));
    }

    [Fact]
    public void VersionsToDelete_NewestAndPinnedKept_OldestFirst()
    {
        Assert.Equal([2L, 3L, 5L], CheckpointRetention.VersionsToDelete([1, 2, 3, 4, 5, 6, 7, 8], 3, [1, 4]));
        Assert.Empty(CheckpointRetention.VersionsToDelete([1, 2], 3, []));
        Assert.Equal([1L, 2L], CheckpointRetention.VersionsToDelete([1, 2], 0, []));
    }
}
