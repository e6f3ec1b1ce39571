using AgentRl.Pipeline.Metrics;

namespace AgentRl.Pipeline.Tests.Metrics;

public sealed class MetricColumnsTests
{
    [Theory]
    [InlineData("perf/tokens_per_s", true)]
    [InlineData("tokens_per_s", true)]                 // the column of perf/tokens_per_s
    [InlineData("perf/phase/Rollout_s", true)]
    [InlineData("perf/update_seconds", true)]
    [InlineData("sft/perf/tokens_per_second", true)]
    [InlineData("swarm/publish_ms", true)]
    [InlineData("perf/tokens", false)]                 // counts are what the seed determines
    [InlineData("perf/forward_tokens", false)]
    [InlineData("actor/optimizer_steps", false)]
    [InlineData("sft/steps", false)]
    [InlineData("rollout/entropy", false)]
    [InlineData("tools/calls_by_tool/lookup_s", false)]   // a tool's name, not a unit
    public void IsWallClock_ClassifiesByTheUnitOfTheLastSegment(string name, bool wallClock) =>
        Assert.Equal(wallClock, MetricColumns.IsWallClock(name));

    [Fact]
    public void FixedColumns_HoldNoWallClockMetric() =>
        Assert.DoesNotContain(MetricColumns.FixedColumns, MetricColumns.IsWallClock);
}
