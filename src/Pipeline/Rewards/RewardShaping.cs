using AgentRl.Abstractions.Rollouts;
using AgentRl.Policy.Objectives;

namespace AgentRl.Pipeline.Rewards;

/// <summary>
/// The Reward phase's maths on finished trajectories: DAPO's overlong penalty from the real response length, and a
/// per-trajectory penalty (KL in the reward) added to the reward. Each shaping adds its amount as a reward part, so the
/// trajectory log and the metrics show what changed the reward. Pure: the inputs are not modified.
/// </summary>
public static class RewardShaping
{
    /// <summary>The reward part holding DAPO's overlong penalty (≤ 0).</summary>
    public const string OverlongPenaltyPart = "overlong_penalty";

    /// <summary>The reward part holding minus the KL-in-reward penalty (≤ 0 for k1 in expectation).</summary>
    public const string KlPenaltyPart = "kl_penalty";

    /// <summary>
    /// DAPO's overlong shaping (docs/ALGORITHMS.md §3.2): the response is every token after the prompt (generated and tool
    /// tokens), its maximum the room the trajectory had, <paramref name="contextBudget"/> − prompt length; the buffer
    /// L_buf is <see cref="ObjectiveOptions.OverlongBufferLength"/> or, when unset, a fifth of that maximum (DAPO's
    /// 4096 of 20480). Penalty = min(−(len − (max − L_buf))/L_buf·factor, 0).
    /// </summary>
    public static double OverlongPenalty(Trajectory trajectory, ObjectiveOptions objective, int contextBudget)
    {
        var maxResponse = Math.Max(1, contextBudget - trajectory.PromptLength);
        var buffer = Math.Clamp(objective.OverlongBufferLength ?? Math.Max(1, maxResponse / 5), 1, maxResponse);
        var response = trajectory.TokenIds.Length - trajectory.PromptLength;
        return OverlongRewardShaping.Penalty(response, maxResponse, buffer, objective.OverlongPenaltyFactor);
    }

    /// <summary>The trajectories with <see cref="OverlongPenalty"/> added to their rewards (a copy when the objective has it off).</summary>
    public static IReadOnlyList<Trajectory> ApplyOverlong(IReadOnlyList<Trajectory> trajectories, ObjectiveOptions objective, int contextBudget) =>
        objective.OverlongBuffer
            ? Add(trajectories, [.. trajectories.Select(t => OverlongPenalty(t, objective, contextBudget))], OverlongPenaltyPart)
            : trajectories;

    /// <summary>Each trajectory's reward plus <paramref name="amounts"/>[i], recorded as the reward part <paramref name="part"/>.</summary>
    public static IReadOnlyList<Trajectory> Add(IReadOnlyList<Trajectory> trajectories, IReadOnlyList<double> amounts, string part)
    {
        ArgumentNullException.ThrowIfNull(trajectories);
        ArgumentNullException.ThrowIfNull(amounts);
        if (amounts.Count != trajectories.Count)
        {
            throw new ArgumentException($"{trajectories.Count} trajectories need as many amounts (got {amounts.Count}).", nameof(amounts));
        }

        return [.. trajectories.Select((t, i) => t with
        {
            Reward = t.Reward + amounts[i],
            RewardParts = new Dictionary<string, double>(t.RewardParts) { [part] = t.RewardParts.GetValueOrDefault(part) + amounts[i] },
        })];
    }
}
