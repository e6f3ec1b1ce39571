namespace AgentRl.Policy.Generation;

/// <summary>Turns token ids back into text; needed for stop strings. The tokenizer component implements it.</summary>
public interface ITokenDecoder
{
    string Decode(IReadOnlyList<int> tokenIds);
}

/// <summary>One generation: continue <see cref="PromptTokenIds"/> with at most <see cref="MaxNewTokens"/> tokens.</summary>
public sealed record GenerationRequest
{
    /// <summary>The exact prefix (prompt, or prompt + earlier response and tool tokens); at least one token.</summary>
    public required IReadOnlyList<int> PromptTokenIds { get; init; }

    public int MaxNewTokens { get; init; } = 256;

    /// <summary>Generation ends after producing one of these ids (EOS, end-of-turn); the id is included.</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Generation ends at the token whose text completes one of these strings (included). Needs an <see cref="ITokenDecoder"/>.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>0 means greedy (arg max); the reported log-probs and entropy are then those of the untempered distribution.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Nucleus sampling mass in (0, 1]; 1 keeps the whole vocabulary.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Keep only the k most likely tokens; 0 keeps all.</summary>
    public int TopK { get; init; }

    /// <summary>Seeds this request's own random stream, so its tokens do not depend on which requests it is batched with.</summary>
    public int Seed { get; init; }

    /// <summary>How many of the most likely tokens (after filtering) to report per position, 0 to 20.</summary>
    public int TopLogProbs { get; init; }
}

public enum FinishReason
{
    /// <summary><see cref="GenerationRequest.MaxNewTokens"/> reached (or the model's context is full).</summary>
    Length,

    /// <summary>A token of <see cref="GenerationRequest.StopTokenIds"/> was produced (EOS, end of turn).</summary>
    StopToken,

    /// <summary>A string of <see cref="GenerationRequest.StopStrings"/> appeared in the generated text.</summary>
    StopString,

    /// <summary>The caller cancelled; the tokens produced so far are returned.</summary>
    Cancelled,
}

/// <summary>A candidate token and its log-probability under the sampling distribution.</summary>
public readonly record struct TokenLogProb(int TokenId, float LogProb);

/// <summary>
/// The generated tokens of one request. Arrays are aligned: element <c>i</c> describes generated token <c>i</c>.
/// Log-probs and entropies are those of the distribution the token was sampled from (after temperature, top-k, top-p).
/// </summary>
public sealed record GenerationResult
{
    public required int[] TokenIds { get; init; }

    public required float[] LogProbs { get; init; }

    /// <summary>Full-vocabulary entropy <c>−Σ p log p</c> (nats) of each position's sampling distribution.</summary>
    public required float[] Entropies { get; init; }

    /// <summary>Policy (weights) version that produced each token.</summary>
    public required long[] PolicyVersions { get; init; }

    /// <summary>Per position the most likely tokens, most likely first; null unless asked for.</summary>
    public TokenLogProb[][]? TopLogProbs { get; init; }

    public required FinishReason FinishReason { get; init; }

    /// <summary>The stop string or stop token id (as text) that ended generation, if any.</summary>
    public string? StopMatch { get; init; }

    /// <summary>Version of the last token (the request's version when no token was produced).</summary>
    public long PolicyVersion { get; init; }
}
