using AgentRl.Abstractions.Rollouts;

namespace AgentRl.Pipeline.Rollouts;

/// <summary>
/// APRIL's <c>--mask-offpolicy-in-partial-rollout</c> (docs/ALGORITHMS.md §7.3): a group carried over from an earlier step
/// holds tokens generated under older weights; only those generated under the trainer's current version keep loss mask 1.
/// </summary>
public static class OffPolicyMask
{
    /// <summary>
    /// <paramref name="trajectory"/> with loss mask 0 on every generated token whose version is below
    /// <paramref name="currentVersion"/> (the same trajectory when there is none), and how many tokens were masked.
    /// </summary>
    public static (Trajectory Trajectory, int Masked) Apply(Trajectory trajectory, long currentVersion)
    {
        ArgumentNullException.ThrowIfNull(trajectory);
        byte[]? mask = null;
        var masked = 0;
        for (var t = 0; t < trajectory.LossMask.Length; t++)
        {
            if (trajectory.LossMask[t] != 0 && trajectory.PolicyVersions[t] < currentVersion)
            {
                mask ??= (byte[])trajectory.LossMask.Clone();
                mask[t] = 0;
                masked++;
            }
        }

        return (mask is null ? trajectory : trajectory with { LossMask = mask }, masked);
    }
}
