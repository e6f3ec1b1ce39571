using AgentRl.Abstractions.Training;

namespace AgentRl.Cluster.Tests.Infrastructure;

/// <summary>Polls a run grain's status until a condition holds.</summary>
public static class RunWaits
{
    /// <summary>The first status that satisfies <paramref name="until"/>; <see cref="TimeoutException"/> after <paramref name="minutes"/>.</summary>
    public static async Task<RunStatus> UntilAsync(ITrainingRunGrain run, Func<RunStatus, bool> until, int minutes = 5)
    {
        var deadline = DateTime.UtcNow.AddMinutes(minutes);
        while (DateTime.UtcNow < deadline)
        {
            var status = await run.GetStatusAsync();
            if (until(status))
            {
                return status;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"the run did not reach the awaited state within {minutes} minutes");
    }
}
