using AgentRl.Abstractions.Training;
using AgentRl.Pipeline.WarmStart;

namespace AgentRl.Pipeline.Tests.Metrics;

public sealed class WarmStartTrackerTests
{
    [Fact]
    public void Report_CountsBatchesOverPassesAndEpochs_AndReturnsOnlyTheNewOnes()
    {
        var tracker = new WarmStartTracker();
        tracker.BeginDemonstrations(1, 10);
        tracker.DemonstrationsBuilt(4);
        Assert.Equal((WarmStartStage.Demonstrations, 4, 10), (tracker.Report(0).Status.Stage, tracker.Report(0).Status.Done, tracker.Report(0).Status.Total));

        tracker.BeginSft(1, totalBatches: 6, batchesPerEpoch: 3);
        for (var i = 0; i < 6; i++)
        {
            tracker.BatchDone(loss: 6 - i, learningRate: 0.1);
        }

        tracker.BeginSft(2, totalBatches: 2, batchesPerEpoch: 2);
        tracker.BatchDone(0.5, 0.01);
        var report = tracker.Report(afterBatch: 5);

        Assert.Equal([6, 7], report.Batches.Select(b => b.Batch));
        Assert.Equal([(1, 2), (2, 1)], report.Batches.Select(b => (b.Pass, b.Epoch)));
        Assert.Equal([1, 1, 1, 2, 2, 2, 1], tracker.Report(0).Batches.Select(b => b.Epoch));
        Assert.Equal((WarmStartStage.Sft, 2, 1, 2, 0.5, 7), (report.Status.Stage, report.Status.Pass, report.Status.Done, report.Status.Total, report.Status.Loss, report.Status.Batches));
        Assert.Empty(tracker.Report(afterBatch: 7).Batches);

        tracker.Finish();
        Assert.Equal(WarmStartStage.Done, tracker.Report(7).Status.Stage);
    }
}
