using AgentRl.Policy.Training;

namespace AgentRl.Policy.Tests.Trainer;

public sealed class LearningRateScheduleTests
{
    [Theory]
    [InlineData(0, 2.5e-4)]    // warm-up: 1e-3·1/4
    [InlineData(2, 7.5e-4)]    // 1e-3·3/4
    [InlineData(3, 1e-3)]      // last warm-up step reaches the peak
    [InlineData(4, 1e-3)]      // cosine progress 0
    [InlineData(9, 5.5e-4)]    // progress ½: 1e-4 + 9e-4·½
    [InlineData(14, 1e-4)]     // progress 1: the floor
    [InlineData(100, 1e-4)]    // beyond the end: the floor
    public void At_CosineWithWarmup_MatchesHandValues(long step, double expected)
    {
        var options = new TrainerOptions
        {
            LearningRate = 1e-3,
            WarmupSteps = 4,
            Schedule = LearningRateScheduleKind.Cosine,
            TotalSteps = 14,
            MinLearningRateRatio = 0.1,
        };
        Assert.Equal(expected, LearningRateSchedule.At(options, step), 12);
    }

    [Fact]
    public void At_CosineQuarter_MatchesHandValue()
    {
        var options = new TrainerOptions { LearningRate = 2.0, Schedule = LearningRateScheduleKind.Cosine, TotalSteps = 8 };
        // progress ¼: 2·½(1 + cos(π/4)) = 1 + √2/2
        Assert.Equal(1 + (Math.Sqrt(2) / 2), LearningRateSchedule.At(options, 2), 12);
    }

    [Theory]
    [InlineData(0, 0.5)]
    [InlineData(1, 1.0)]
    [InlineData(50, 1.0)]
    public void At_ConstantWithWarmup_RisesThenStays(long step, double expected)
    {
        var options = new TrainerOptions { LearningRate = 1.0, WarmupSteps = 2 };
        Assert.Equal(expected, LearningRateSchedule.At(options, step), 12);
    }
}
