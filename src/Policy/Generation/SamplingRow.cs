namespace AgentRl.Policy.Generation;

/// <summary>Sampling settings of one batch row plus its uniform draw for this step.</summary>
public readonly record struct SamplingRow(double Temperature, int TopK, double TopP, int TopLogProbs, double Uniform);

/// <summary>What the sampler picked for one row.</summary>
public readonly record struct SampledToken(int TokenId, float LogProb, float Entropy, TokenLogProb[]? TopLogProbs);
