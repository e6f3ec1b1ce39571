using static TorchSharp.torch;

namespace AgentRl.Policy.Training;

/// <summary>
/// Prefix deduplication for rollout trees (docs/ALGORITHMS.md §1, docs/ARCHITECTURE.md §7): a child trajectory repeats its parent's tokens
/// up to its fork, so a batch of tree trajectories holds each shared prefix once per descendant. A <em>family</em> — a
/// root and every descendant present in the batch — is packed into one row: the root's tokens, then each descendant's
/// tokens after its fork, each token at its own position and attending (through the mask) to exactly the tokens that
/// precede it in its own trajectory. One forward over the row yields, for every trajectory, the same log-probabilities
/// and entropies as its own forward; the per-trajectory view is gathered from the packed slots, so every loss runs
/// unchanged and the gradient of a shared slot is the sum of its descendants' contributions. The transformer runs each
/// shared prefix once.
/// </summary>
public static class PrefixPacking
{
    /// <summary>
    /// Groups examples into families (by <see cref="TrainingExample.SequenceKey"/> / <see cref="TrainingExample.ParentKey"/>):
    /// each family lists example indices with every parent before its children. A child whose parent is not among the
    /// examples, or whose first <see cref="TrainingExample.ForkPosition"/> tokens differ from the parent's, is a root of
    /// its own family.
    /// </summary>
    public static IReadOnlyList<int[]> Families(IReadOnlyList<TrainingExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        var byKey = KeyIndex(examples);
        var parentOf = new int[examples.Count];
        var children = new List<int>[examples.Count];
        for (var i = 0; i < examples.Count; i++)
        {
            parentOf[i] = ParentIndex(examples, byKey, i);
            children[i] = [];
        }

        for (var i = 0; i < examples.Count; i++)
        {
            if (parentOf[i] >= 0)
            {
                children[parentOf[i]].Add(i);
            }
        }

        var families = new List<int[]>();
        for (var root = 0; root < examples.Count; root++)
        {
            if (parentOf[root] >= 0)
            {
                continue;
            }

            var family = new List<int> { root };
            for (var next = 0; next < family.Count; next++)
            {
                family.AddRange(children[family[next]]);
            }

            families.Add([.. family]);
        }

        return families;
    }

    /// <summary>Whether any example continues another one of the list (packing saves work).</summary>
    public static bool HasSharedPrefixes(IReadOnlyList<int[]> families) => families.Any(f => f.Length > 1);

    /// <summary>Tokens one packed row of <paramref name="family"/> holds: the root's plus each descendant's after its fork.</summary>
    public static int PackedLength(IReadOnlyList<TrainingExample> examples, IReadOnlyList<int> family) =>
        family.Select((index, j) => j == 0 ? examples[index].TokenIds.Length : examples[index].TokenIds.Length - examples[index].ForkPosition).Sum();

    /// <summary>Example index by <see cref="TrainingExample.SequenceKey"/> (the first example of a repeated key).</summary>
    private static Dictionary<string, int> KeyIndex(IReadOnlyList<TrainingExample> examples)
    {
        var byKey = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < examples.Count; i++)
        {
            if (examples[i].SequenceKey is { } key)
            {
                byKey.TryAdd(key, i);
            }
        }

        return byKey;
    }

    private static int ParentIndex(IReadOnlyList<TrainingExample> examples, Dictionary<string, int> byKey, int i)
    {
        var example = examples[i];
        if (example.ParentKey is not { } parentKey || !byKey.TryGetValue(parentKey, out var parent) || parent == i)
        {
            return -1;
        }

        var fork = example.ForkPosition;
        var parentTokens = examples[parent].TokenIds;
        if (fork < 1 || fork >= example.TokenIds.Length || fork > parentTokens.Length
            || !example.TokenIds.AsSpan(0, fork).SequenceEqual(parentTokens.AsSpan(0, fork)))
        {
            return -1;
        }

        return parent;
    }

    /// <summary>
    /// The packed tensors of some families, plus the slot of every (example, column) of the unpacked view: column
    /// <c>c</c> of an example is token <c>c + 1</c>, predicted from the slot holding its token <c>c</c>.
    /// </summary>
    public static PackedBatch Create(IReadOnlyList<TrainingExample> examples, IReadOnlyList<int[]> families, IReadOnlyList<int> rowOrder, int columns, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(examples);
        ArgumentNullException.ThrowIfNull(families);
        ArgumentNullException.ThrowIfNull(rowOrder);
        var rowsOf = new Dictionary<int, int>();
        for (var r = 0; r < rowOrder.Count; r++)
        {
            rowsOf[rowOrder[r]] = r;
        }

        var byKey = KeyIndex(examples);
        var width = families.Max(f => PackedLength(examples, f));
        var units = families.Count;
        var ids = new long[units * width];
        var positions = new long[units * width];
        var mask = new bool[units * width * width];
        var slots = new long[rowOrder.Count * columns];
        for (var u = 0; u < units; u++)
        {
            var family = families[u];
            var slotOf = new Dictionary<int, int[]>();
            var next = 0;
            foreach (var index in family)
            {
                var tokens = examples[index].TokenIds;
                var own = new int[tokens.Length];
                var start = 0;
                if (index != family[0])
                {
                    // The parent Families linked (same key lookup), placed earlier in the family.
                    var parent = byKey[examples[index].ParentKey!];
                    start = examples[index].ForkPosition;
                    Array.Copy(slotOf[parent], own, start);
                }

                for (var t = start; t < tokens.Length; t++)
                {
                    var slot = next++;
                    own[t] = slot;
                    ids[(u * width) + slot] = tokens[t];
                    positions[(u * width) + slot] = t;

                    // The token attends to its own trajectory's tokens 0 .. t, wherever they sit in the row.
                    var row = ((long)u * width * width) + ((long)slot * width);
                    for (var k = 0; k <= t; k++)
                    {
                        mask[row + own[k]] = true;
                    }
                }

                slotOf[index] = own;
                if (rowsOf.TryGetValue(index, out var r))
                {
                    var limit = Math.Min(columns, tokens.Length - 1);
                    for (var c = 0; c < limit; c++)
                    {
                        slots[((long)r * columns) + c] = ((long)u * width) + own[c];
                    }
                }
            }

            for (var pad = next; pad < width; pad++)
            {
                mask[((long)u * width * width) + ((long)pad * width) + pad] = true;   // padding attends to itself only
            }
        }

        var target = device ?? CPU;
        return new PackedBatch(
            tensor(ids, [units, width], device: target),
            tensor(positions, [units, width], device: target),
            tensor(mask, [units, 1, width, width], device: target),
            tensor(slots, [rowOrder.Count, columns], device: target),
            units * width,
            families.Sum(f => PackedLength(examples, f)));
    }
}

/// <summary>Packed family rows and the slot map back to one row per example (see <see cref="PrefixPacking"/>).</summary>
/// <param name="InputIds">[units, width] int64 tokens of the packed rows.</param>
/// <param name="Positions">[units, width] int64 position of each token in its own trajectory.</param>
/// <param name="Mask">[units, 1, width, width] bool attention mask.</param>
/// <param name="Slots">[rows, columns] int64 flat slot (unit · width + offset) of the input token of each unpacked column; 0 on padding.</param>
/// <param name="ForwardTokens">Tokens the forward runs (units × width, padding included).</param>
/// <param name="DistinctTokens">Tokens of the packed rows without padding: every shared prefix counted once.</param>
public sealed record PackedBatch(Tensor InputIds, Tensor Positions, Tensor Mask, Tensor Slots, long ForwardTokens, long DistinctTokens) : IDisposable
{
    public void Dispose()
    {
        InputIds.Dispose();
        Positions.Dispose();
        Mask.Dispose();
        Slots.Dispose();
    }
}
