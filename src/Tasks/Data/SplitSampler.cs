using System.Globalization;
using AgentRl.Abstractions.Tools;

namespace AgentRl.Tasks.Data;

/// <summary>A generated problem before it is given an id and a split.</summary>
public sealed record TaskCandidate(
    string Prompt,
    string Answer,
    IReadOnlyDictionary<string, string> Metadata,
    IReadOnlyList<KbDocument>? Documents = null);

/// <summary>
/// Draws distinct items of one split from a seeded candidate generator. A candidate belongs to the eval split
/// exactly when the stable hash of (task, prompt) is divisible by the eval modulus, so train and eval never
/// share a prompt whatever the seeds and counts; the id is derived from the same hash.
/// </summary>
public static class SplitSampler
{
    public static IReadOnlyList<TaskItem> Sample(
        string taskName, TaskSplit split, int count, int seed, int evalModulus, Func<Random, TaskCandidate?> candidate)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(evalModulus, 2);
        var rng = new Random(TaskHash.Seed($"{taskName}/{split}/{seed}"));
        var seen = new HashSet<ulong>();
        var items = new List<TaskItem>(count);
        var maxAttempts = 1000 + (count * evalModulus * 50);
        for (var attempt = 0; items.Count < count; attempt++)
        {
            if (attempt >= maxAttempts)
            {
                throw new InvalidOperationException(
                    $"Task '{taskName}' produced only {items.Count} distinct {split} items of {count} requested; widen its difficulty options.");
            }

            if (candidate(rng) is not { } c)
            {
                continue;
            }

            var hash = TaskHash.Of(taskName + "\n" + c.Prompt);
            var isEval = hash % (ulong)evalModulus == 0;
            if (isEval != (split == TaskSplit.Eval) || !seen.Add(hash))
            {
                continue;
            }

            var id = string.Create(CultureInfo.InvariantCulture, $"{taskName}-{hash:x16}");
            items.Add(new TaskItem(id, taskName, c.Prompt, c.Answer, split, c.Metadata, c.Documents ?? []));
        }

        return items;
    }
}
