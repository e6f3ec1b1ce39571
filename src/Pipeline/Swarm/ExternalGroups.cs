using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Swarm;
using AgentRl.Abstractions.Training;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Objectives;
using AgentRl.Tasks;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Pipeline.Swarm;

/// <summary>A shared group rendered in the receiver's tokens, before its logprobs are computed.</summary>
/// <param name="Source">The producer's run and group id.</param>
/// <param name="Trajectories">One per completion (none when <paramref name="Problem"/> is set).</param>
/// <param name="Behaviour">Per trajectory: the producer's behaviour logprobs on the receiver's tokens, or null when they do not belong to them.</param>
/// <param name="Problem">Why the group cannot be used, or null.</param>
public sealed record PreparedGroup(string Source, IReadOnlyList<Trajectory> Trajectories, IReadOnlyList<float[]?> Behaviour, string? Problem = null);

/// <summary>
/// The receiver's side of a swarm: a shared group re-rendered with the receiver's template and tokenizer
/// (<see cref="SharedGroupRendering"/>) into a group of its own (group id <c>ext:{producer}:{group}</c>), then — with the
/// receiver's current logprobs — old logprobs set to them (SAPO) and, for <c>truncated-is</c>, per-token weights
/// min(π_receiver/π_producer, c) where the producer's behaviour logprobs belong to the receiver's tokens.
/// </summary>
public static class ExternalGroups
{
    /// <summary>The group id an external group gets in the receiver's batch.</summary>
    public static string GroupId(SharedGroup group) => $"ext:{group.ProducerRunId}:{group.GroupId}";

    public static PreparedGroup Prepare(SharedGroup group, IChatTemplate template, string? systemPrompt, IReadOnlyList<ToolSpec> tools, string userPrompt, string receiverTokenizerId, int contextBudget)
    {
        ArgumentNullException.ThrowIfNull(group);
        var source = $"{group.ProducerRunId}/{group.GroupId}";
        var trajectories = new List<Trajectory>();
        var behaviour = new List<float[]?>();
        for (var i = 0; i < group.Completions.Count; i++)
        {
            RenderedCompletion rendered;
            try
            {
                rendered = SharedGroupRendering.Render(template, systemPrompt, tools, userPrompt, group.Completions[i]);
            }
            catch (ArgumentException e)
            {
                return new PreparedGroup(source, [], [], $"completion {i}: {e.Message}");
            }

            if (rendered.TokenIds.Length > contextBudget)
            {
                return new PreparedGroup(source, [], [], $"completion {i} is {rendered.TokenIds.Length} tokens in the receiver's tokenizer, over its context budget of {contextBudget}");
            }

            trajectories.Add(SharedGroupRendering.ToTrajectory(rendered, GroupId(group), i, group.Completions[i].Finished));
            behaviour.Add(SharedGroupRendering.AlignBehaviour(rendered, group.Completions[i], group.TokenizerId, receiverTokenizerId));
        }

        return new PreparedGroup(source, trajectories, behaviour);
    }

    /// <summary>The group with the receiver's logprobs as old logprobs and, for <c>truncated-is</c>, its token weights.</summary>
    public static ExternalGroup Complete(PreparedGroup prepared, IReadOnlyList<float[]> receiverLogprobs, string correction, double clip)
    {
        ArgumentNullException.ThrowIfNull(prepared);
        ArgumentNullException.ThrowIfNull(receiverLogprobs);
        if (prepared.Problem is not null)
        {
            return new ExternalGroup(prepared.Source, [], [], 0, 0, prepared.Problem);
        }

        if (receiverLogprobs.Count != prepared.Trajectories.Count)
        {
            throw new ArgumentException($"{prepared.Trajectories.Count} trajectories need as many logprob rows (got {receiverLogprobs.Count}).", nameof(receiverLogprobs));
        }

        var trajectories = new List<Trajectory>();
        var weights = new List<float[]?>();
        var (corrected, uncorrected) = (0, 0);
        for (var i = 0; i < prepared.Trajectories.Count; i++)
        {
            var trajectory = prepared.Trajectories[i] with { Logprobs = receiverLogprobs[i] };
            trajectories.Add(trajectory);
            var generated = trajectory.GeneratedTokenCount;
            if (correction == SwarmSettings.Corrections.TruncatedIs && prepared.Behaviour[i] is { } behaviour)
            {
                weights.Add(TruncatedImportance.Weights(receiverLogprobs[i], behaviour, trajectory.LossMask, clip));
                corrected += generated;
            }
            else
            {
                weights.Add(null);
                uncorrected += generated;
            }
        }

        return new ExternalGroup(prepared.Source, trajectories, weights, corrected, uncorrected);
    }

    /// <summary>The rescored reward before shaping, kept as a reward part of external trajectories.</summary>
    public const string TaskRewardPart = "swarm_task_reward";

    /// <summary>
    /// The group scored by the receiver's task (the producer's rewards are informational only): each trajectory's reward
    /// and parts are the receiver's, and <see cref="TaskRewardPart"/> keeps the score before any shaping.
    /// </summary>
    public static ExternalGroup Rescore(ExternalGroup group, IAgentTask task, TaskItem item)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(task);
        return group with
        {
            Trajectories = [.. group.Trajectories.Select(t =>
            {
                var score = task.Score(item, FinishedConversation.FromMessages(t.Conversation));
                return t with { Reward = score.Score, RewardParts = new Dictionary<string, double>(score.Parts) { [TaskRewardPart] = score.Score } };
            })],
        };
    }

    /// <summary>An external trajectory's task reward before shaping.</summary>
    public static double TaskReward(Trajectory trajectory) =>
        trajectory.RewardParts.TryGetValue(TaskRewardPart, out var reward) ? reward : trajectory.Reward;
}
