using System.Globalization;
using System.Text.Json.Serialization;

namespace AgentRl.Abstractions.Training;

/// <summary>
/// Swarm training (SAPO, docs/ALGORITHMS.md §4): the run shares its groups through an experience pool and trains on
/// <see cref="Local"/> of its own groups plus <see cref="External"/> groups of other members, re-rendered with its own
/// chat template and tokenizer, rescored with its own task. When set, <see cref="Local"/> + <see cref="External"/>
/// replaces <see cref="RunConfig.PromptsPerStep"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("agentrl.swarm-settings.v1")]
public sealed record SwarmSettings
{
    /// <summary>The pool's name, shared by every member of a swarm. Default <c>swarm</c>.</summary>
    [Id(0)] public string Pool { get; init; } = "swarm";

    /// <summary>I: own groups per step. Default 4.</summary>
    [Id(1)] public int Local { get; init; } = 4;

    /// <summary>J: external groups per step; when fewer are available the step fills up with own groups. Default 4.</summary>
    [Id(2)] public int External { get; init; } = 4;

    /// <summary>What the run publishes: <c>informative</c> (default: only groups whose rewards differ) or <c>all</c>.</summary>
    [Id(3)] public string Share { get; init; } = Shares.Informative;

    /// <summary>How external groups are drawn: <c>informative-uniform</c> (default), <c>uniform</c> or <c>recent</c>.</summary>
    [Id(4)] public string Select { get; init; } = Selections.InformativeUniform;

    /// <summary>Groups produced more than this many steps before the receiver's step are not drawn. Default 4.</summary>
    [Id(5)] public int MaxAgeSteps { get; init; } = 4;

    /// <summary>
    /// <c>none</c> (default, SAPO: the old logprobs of an external token are the receiver's current ones) or
    /// <c>truncated-is</c>: where the producer's tokenizer equals the receiver's and the re-tokenised completion equals the
    /// producer's tokens, each token's policy loss is weighted by min(π_receiver/π_producer, <see cref="IsClip"/>).
    /// </summary>
    [Id(6)] public string OffPolicyCorrection { get; init; } = Corrections.None;

    /// <summary>c of the truncated importance weight. Default 2.</summary>
    [Id(7)] public double IsClip { get; init; } = 2.0;

    /// <summary>Shards of the pool (the same for every member). Default 4.</summary>
    [Id(8)] public int Shards { get; init; } = 4;

    /// <summary>Groups per step in all: I + J.</summary>
    [JsonIgnore]
    public int GroupsPerStep => Local + External;

    public IEnumerable<string> Validate()
    {
        if (string.IsNullOrWhiteSpace(Pool) || Pool.Contains('/', StringComparison.Ordinal)) yield return $"swarm.pool = '{Pool}' must be a non-empty name without '/'";
        if (Local < 1) yield return $"swarm.local = {Local} is outside the allowed range [1, ∞)";
        if (External < 0) yield return $"swarm.external = {External} is outside the allowed range [0, ∞)";
        if (!Shares.Names.Contains(Share, StringComparer.Ordinal)) yield return $"swarm.share = '{Share}' is not one of {string.Join(", ", Shares.Names)}";
        if (!Selections.Names.Contains(Select, StringComparer.Ordinal)) yield return $"swarm.select = '{Select}' is not one of {string.Join(", ", Selections.Names)}";
        if (MaxAgeSteps < 0) yield return $"swarm.maxAgeSteps = {MaxAgeSteps} is outside the allowed range [0, ∞)";
        if (!Corrections.Names.Contains(OffPolicyCorrection, StringComparer.Ordinal)) yield return $"swarm.offPolicyCorrection = '{OffPolicyCorrection}' is not one of {string.Join(", ", Corrections.Names)}";
        if (!(IsClip >= 1) || double.IsInfinity(IsClip)) yield return string.Create(CultureInfo.InvariantCulture, $"swarm.isClip = {IsClip} is outside the allowed range [1, ∞)");
        if (Shards is < 1 or > 65_536) yield return $"swarm.shards = {Shards} is outside the allowed range [1, 65536]";
    }

    /// <summary>Values of <see cref="Share"/>.</summary>
    public static class Shares
    {
        public const string Everything = "all";
        public const string Informative = "informative";
        public static IReadOnlyList<string> Names { get; } = [Informative, Everything];
    }

    /// <summary>Values of <see cref="Select"/>.</summary>
    public static class Selections
    {
        public const string Uniform = "uniform";
        public const string InformativeUniform = "informative-uniform";
        public const string Recent = "recent";
        public static IReadOnlyList<string> Names { get; } = [InformativeUniform, Uniform, Recent];
    }

    /// <summary>Values of <see cref="OffPolicyCorrection"/>.</summary>
    public static class Corrections
    {
        public const string None = "none";
        public const string TruncatedIs = "truncated-is";
        public static IReadOnlyList<string> Names { get; } = [None, TruncatedIs];
    }
}
