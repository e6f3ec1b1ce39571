using static TorchSharp.torch;

namespace AgentRl.Policy.Training;

/// <summary>
/// Right-padded tensors for a group of sequences. Column <c>t</c> of <see cref="Targets"/> and <see cref="LossMask"/>
/// is token <c>t + 1</c> of its sequence, predicted from tokens <c>0 .. t</c>; padding has mask 0.
/// </summary>
public sealed class MicroBatch : IDisposable
{
    private MicroBatch(int[] sequenceIndices, int[] lengths, Tensor inputIds, Tensor targets, Tensor lossMask)
    {
        SequenceIndices = sequenceIndices;
        Lengths = lengths;
        InputIds = inputIds;
        Targets = targets;
        LossMask = lossMask;
    }

    /// <summary>Which of the caller's sequences each row holds.</summary>
    public int[] SequenceIndices { get; }

    /// <summary>Token count of each row before padding.</summary>
    public int[] Lengths { get; }

    /// <summary>[rows, seq - 1] int64 input tokens (the last token of the longest row is never an input).</summary>
    public Tensor InputIds { get; }

    /// <summary>[rows, seq - 1] int64 next tokens.</summary>
    public Tensor Targets { get; }

    /// <summary>[rows, seq - 1] f32, the loss mask of each target token; 0 on padding.</summary>
    public Tensor LossMask { get; }

    /// <summary>Number of target positions per row (<c>seq - 1</c>).</summary>
    public long Columns => Targets.size(1);

    /// <summary>Builds the tensors for <paramref name="indices"/> of <paramref name="sequences"/> (each at least 2 tokens).</summary>
    public static MicroBatch Create(IReadOnlyList<TrainingSequence> sequences, IReadOnlyList<int> indices, Device? device = null)
    {
        var rows = indices.Count;
        var lengths = indices.Select(i => sequences[i].TokenIds.Count).ToArray();
        var width = lengths.Max();
        if (width < 2)
        {
            throw new ArgumentException("Every micro-batch needs a sequence of at least 2 tokens.", nameof(indices));
        }

        var ids = new long[rows * width];
        var mask = new float[rows * (width - 1)];
        for (var row = 0; row < rows; row++)
        {
            var sequence = sequences[indices[row]];
            for (var t = 0; t < sequence.TokenIds.Count; t++)
            {
                ids[(row * width) + t] = sequence.TokenIds[t];
                if (t > 0)
                {
                    mask[(row * (width - 1)) + t - 1] = sequence.LossMask is null ? 1f : sequence.LossMask[t];
                }
            }
        }

        var target = device ?? CPU;
        var all = tensor(ids, [rows, width], device: target);                      // [rows, seq]
        var inputIds = all.narrow(1, 0, width - 1).contiguous();                   // [rows, seq - 1]
        var targets = all.narrow(1, 1, width - 1).contiguous();                    // [rows, seq - 1]
        var lossMask = tensor(mask, [rows, width - 1], device: target);           // [rows, seq - 1]
        all.Dispose();
        return new MicroBatch([.. indices], lengths, inputIds, targets, lossMask);
    }

    public void Dispose()
    {
        InputIds.Dispose();
        Targets.Dispose();
        LossMask.Dispose();
    }
}
