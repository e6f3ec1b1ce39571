using AgentRl.Grains.Reporting;

namespace AgentRl.Cluster.Tests.Reporting;

public sealed class SwarmReportTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "agentrl-swarmreport-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Write_MembersMetrics_OneRowPerMemberAndRlStep_WithCumulativeReward_AndAPlot()
    {
        Write("m0", (0, 0.0, null), (1, 0.25, 4), (2, 0.5, 3));
        Write("m1", (0, 0.0, null), (1, 0.75, 0));

        var rows = SwarmReport.Write(_dir, ["m0", "m1", "never-started"]);

        Assert.Equal([("m0", 1L), ("m0", 2L), ("m1", 1L)], rows.Select(r => (r.Member, r.Step)));
        Assert.Equal([0.25, 0.75, 0.75], rows.Select(r => r.CumulativeReward));
        Assert.Equal([4.0, 3.0, 0.0], rows.Select(r => r.ExternalGroups!.Value));
        var csv = File.ReadAllLines(Path.Combine(_dir, SwarmReport.CsvFileName));
        Assert.Equal("member,step,reward_mean,accuracy,external_groups,cumulative_reward,eval_accuracy", csv[0]);
        Assert.Equal("m0,2,0.5,0.4,3,0.75,", csv[2]);
        var png = File.ReadAllBytes(Path.Combine(_dir, SwarmReport.PlotFileName));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    private void Write(string member, params (long Step, double Reward, double? External)[] steps)
    {
        using var writer = new MetricsCsvWriter(Path.Combine(_dir, member, MetricsCsvWriter.FileName));
        foreach (var (step, reward, external) in steps)
        {
            var metrics = new Dictionary<string, double> { ["rollout/reward_mean"] = reward, ["rollout/accuracy"] = 0.4 };
            if (external is { } e)
            {
                metrics["swarm/external_groups"] = e;
            }

            writer.Append(step, metrics);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
