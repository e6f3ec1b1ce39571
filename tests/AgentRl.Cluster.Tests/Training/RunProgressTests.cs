using AgentRl.Abstractions.Training;
using AgentRl.Client;
using AgentRl.Cluster.Tests.Infrastructure;

namespace AgentRl.Cluster.Tests.Training;

/// <summary>Progress pushed by the run grain to subscribed client observers, and the expiry of subscriptions not renewed.</summary>
public sealed class RunProgressTests : IDisposable
{
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-progress-" + Guid.NewGuid().ToString("N"));

    private RunConfig Toy(int steps) => ToyRuns.Config(_runDir, steps);

    [Fact]
    public async Task SubscribedObserver_ReceivesEveryPhaseAndStepInOrder_ThenTheEnd()
    {
        await using var cluster = await AgentRlTestCluster.StartAsync(2, (index, o) => o.Roles = index == 0 ? "rollout,tools,trainer" : "rollout,tools");
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("pushed");
        var recorder = new Recorder();
        var reference = cluster.Client.CreateObjectReference<IRunProgressObserver>(recorder);

        await run.StartAsync(Toy(steps: 3));
        await run.SubscribeAsync(reference);
        var last = await recorder.WaitAsync(s => s.IsFinished, TimeSpan.FromMinutes(3));

        Assert.True(last.State == RunState.Completed, $"{last.State}: {last.Error}");
        // Pushes are one-way and may overtake each other; (Epoch, Sequence) restores the order the run sent them in.
        var pushed = recorder.Statuses.OrderBy(s => s.Epoch).ThenBy(s => s.Sequence).ToList();
        Assert.Equal(pushed.Count, pushed.Select(s => (s.Epoch, s.Sequence)).Distinct().Count());
        Assert.Equal("pushed", pushed[0].RunId);
        var training = pushed.Where(s => s.State == RunState.Training).ToList();
        Assert.Equal(training.Select(s => s.Step).Order(), training.Select(s => s.Step));
        Assert.Equal([1, 2, 3], training.Select(s => s.Step).Distinct());
        foreach (var step in new[] { 1, 2, 3 })
        {
            var phases = training.Where(s => s.Step == step).Select(s => s.Phase).Distinct().ToList();
            Assert.Equal(["Rollout", "Reward", "Advantage", "Update", "PublishWeights", "Checkpoint"], phases.Where(p => p != "Evaluate"));

            // The end of each step carries its metrics.
            Assert.Contains(training, s => s.Step == step && s.Metrics.ContainsKey("rollout/reward_mean") && s.Metrics["rollout/policy_version"] == s.PolicyVersion);
        }

        Assert.Equal(3, last.Step);
        cluster.Client.DeleteObjectReference<IRunProgressObserver>(reference);
    }

    [Fact]
    public async Task Subscription_NotRenewed_LapsesAfterItsLifetime_WhileARenewingFollowerSeesTheEnd()
    {
        var lifetime = TimeSpan.FromSeconds(1);
        await using var cluster = await AgentRlTestCluster.StartAsync(1, (_, o) =>
        {
            o.Roles = "rollout,tools,trainer";
            o.ProgressSubscriptionLifetime = lifetime;
        });
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("lapsing");
        var recorder = new Recorder();
        var reference = cluster.Client.CreateObjectReference<IRunProgressObserver>(recorder);

        // Long enough to outlast the 1 s subscription: a toy step takes ~0.15 s with managed decoding (4 steps did not).
        await run.StartAsync(Toy(steps: 30));
        var subscribed = DateTime.UtcNow;
        await run.SubscribeAsync(reference);
        await using var follower = new RunProgressFollower(cluster.Client, "lapsing", renewEvery: TimeSpan.FromMilliseconds(300));
        RunStatus followed;
        do
        {
            followed = await follower.NextAsync(TimeSpan.FromSeconds(90));
        }
        while (!followed.IsFinished);

        // The renewing follower hears the end as a push, long after the 1 s lifetime of its first subscription.
        Assert.Equal(RunState.Completed, followed.State);
        Assert.True(followed.ElapsedSeconds > lifetime.TotalSeconds + 1, $"the run took {followed.ElapsedSeconds:F1} s, too short to outlast the subscription");
        Assert.True(follower.LastWasPushed, $"the end was polled (pushed {follower.Pushed}, polled {follower.Polled})");
        Assert.True(follower.Pushed > 4, $"pushed {follower.Pushed}, polled {follower.Polled}");
        Assert.NotEmpty(recorder.Statuses);
        Assert.DoesNotContain(recorder.Statuses, s => s.IsFinished);
        Assert.True(recorder.LastReceivedUtc < subscribed + lifetime + TimeSpan.FromSeconds(1), $"a push came {recorder.LastReceivedUtc - subscribed} after subscribing");
        cluster.Client.DeleteObjectReference<IRunProgressObserver>(reference);
    }

    private sealed class Recorder : IRunProgressObserver
    {
        private readonly List<RunStatus> _statuses = [];

        public IReadOnlyList<RunStatus> Statuses
        {
            get
            {
                lock (_statuses)
                {
                    return [.. _statuses];
                }
            }
        }

        public DateTime LastReceivedUtc { get; private set; }

        public Task OnProgressAsync(RunStatus status)
        {
            lock (_statuses)
            {
                _statuses.Add(status);
                LastReceivedUtc = DateTime.UtcNow;
            }

            return Task.CompletedTask;
        }

        public async Task<RunStatus> WaitAsync(Func<RunStatus, bool> until, TimeSpan timeout)
        {
            var deadline = DateTime.UtcNow + timeout;
            while (DateTime.UtcNow < deadline)
            {
                if (Statuses.LastOrDefault(until) is { } found)
                {
                    return found;
                }

                await Task.Delay(20);
            }

            throw new TimeoutException($"no pushed status matched within {timeout}; last: {Statuses.LastOrDefault()?.State}");
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }
}
