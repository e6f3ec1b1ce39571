using AgentRl.Abstractions.Rollouts;
using AgentRl.Cli.Commands;
using AgentRl.Pipeline.Metrics;
using AgentRl.Pipeline.Rewards;
using AgentRl.Pipeline.Rollouts;
using AgentRl.Policy.Algorithms;
using AgentRl.Policy.Configuration;
using AgentRl.Policy.Model;
using AgentRl.Policy.Objectives;
using AgentRl.Policy.Training;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary>
/// Every <c>objective.*</c> and <c>trainer.*</c> field, set with <c>--set</c> exactly as <c>agentrl train</c> parses it,
/// changes what training computes — a loss, a metric, an advantage or a penalty — not just the printed configuration.
/// Each case runs the step's maths without a cluster (the phases' own classes: dynamic sampling, reward shaping,
/// KL-in-reward, advantages, three trainer updates on a seeded micro model) once with the algorithm's preset and once with
/// the override, and requires an observation to differ. A field added to the options without a case here fails
/// <see cref="Cases_CoverEveryObjectiveAndTrainerKey"/>.
/// </summary>
public sealed class SetReachesTrainingTests
{
    /// <summary>
    /// key → (algorithm, extra settings that make the key matter, the value to set). The extras are the same in both runs:
    /// e.g. <c>klCtrlTarget</c> only acts with the adaptive controller on.
    /// </summary>
    private static readonly Dictionary<string, (string Algorithm, string[] Base, string Value)> Cases = new(StringComparer.Ordinal)
    {
        ["objective.advantageEstimator"] = ("grpo", [], "rloo"),
        ["objective.advantageEpsilon"] = ("grpo", [], "10"),
        ["objective.policyLoss"] = ("grpo", [], "entropy-balanced"),
        ["objective.lossAggMode"] = ("grpo", [], "seq-mean-token-mean"),
        ["objective.lossScaleFactor"] = ("drgrpo", [], "7"),
        ["objective.clipRatioLow"] = ("grpo", [], "0.02"),
        ["objective.clipRatioHigh"] = ("grpo", [], "0.02"),
        ["objective.clipRatioC"] = ("grpo", [], "1.01"),
        ["objective.useKlLoss"] = ("drgrpo", [], "true"),
        ["objective.klLossCoef"] = ("grpo", [], "1"),
        ["objective.klLossType"] = ("grpo", [], "k1"),
        ["objective.useKlInReward"] = ("grpo", [], "true"),
        ["objective.klInRewardType"] = ("rloo", [], "k2"),
        ["objective.klCtrlCoef"] = ("rloo", [], "0.1"),
        ["objective.klCtrlAdaptive"] = ("rloo", [], "true"),
        ["objective.klCtrlTarget"] = ("rloo", ["objective.klCtrlAdaptive=true"], "0.000001"),
        ["objective.klCtrlHorizon"] = ("rloo", ["objective.klCtrlAdaptive=true"], "10"),
        ["objective.entropyCoeff"] = ("grpo", [], "0.1"),
        ["objective.clipCovRatio"] = ("clip-cov", ["objective.clipCovLowerBound=-100", "objective.clipCovUpperBound=100"], "0.5"),
        ["objective.clipCovLowerBound"] = ("clip-cov", ["objective.clipCovRatio=0.5", "objective.clipCovUpperBound=100"], "-100"),
        ["objective.clipCovUpperBound"] = ("clip-cov", ["objective.clipCovRatio=0.5", "objective.clipCovLowerBound=-100"], "-50"),
        ["objective.klCovRatio"] = ("kl-cov", [], "0.5"),
        ["objective.ppoKlCoef"] = ("kl-cov", ["objective.klCovRatio=0.5"], "5"),
        ["objective.filterGroups"] = ("grpo", ["objective.maxNumGenBatches=2"], "true"),
        ["objective.maxNumGenBatches"] = ("dapo", [], "1"),
        ["objective.overlongBuffer"] = ("grpo", [], "true"),
        ["objective.overlongBufferLength"] = ("dapo", [], "2"),
        ["objective.overlongPenaltyFactor"] = ("dapo", [], "3"),
        ["objective.entropyAdvantageAlpha"] = ("grpo", [], "0.5"),
        ["objective.rejectionLevel"] = ("grpo", ["objective.policyLoss=decoupled-ppo", "objective.rejectionUpper=1.1"], "sequence"),
        ["objective.rejectionAction"] = ("grpo", ["objective.policyLoss=decoupled-ppo", "objective.rejectionUpper=1.1"], "clamp"),
        ["objective.rejectionUpper"] = ("grpo", ["objective.policyLoss=decoupled-ppo"], "1.05"),
        ["objective.rejectionLower"] = ("grpo", ["objective.policyLoss=decoupled-ppo"], "0.95"),
        ["objective.proxLogprobs"] = ("grpo", ["objective.policyLoss=decoupled-ppo"], "loglinear"),
        ["trainer.weightDecay"] = ("grpo", [], "0.5"),
        ["trainer.decayAllParameters"] = ("grpo", ["trainer.weightDecay=0.5"], "true"),
        ["trainer.beta1"] = ("grpo", [], "0.5"),
        ["trainer.beta2"] = ("grpo", [], "0.5"),
        ["trainer.epsilon"] = ("grpo", [], "0.01"),
        ["trainer.warmupSteps"] = ("grpo", [], "5"),
        ["trainer.schedule"] = ("grpo", [], "cosine"),
        ["trainer.minLearningRateRatio"] = ("grpo", ["trainer.schedule=cosine"], "0.9"),
        ["trainer.maxGradNorm"] = ("grpo", [], "0.001"),
        ["trainer.deduplicatePrefixes"] = ("grpo", [], "false"),
        ["trainer.ppoEpochs"] = ("grpo", [], "2"),
        ["trainer.miniBatches"] = ("grpo", [], "2"),
        ["trainer.keepReferenceModel"] = ("drgrpo", [], "true"),
        ["trainer.sftMicroBatchOverheadTokens"] = ("grpo", [], "0"),
    };

    public static TheoryData<string> Keys() => [.. Cases.Keys];

    [Fact]
    public void Cases_CoverEveryObjectiveAndTrainerKey()
    {
        var keys = OptionsBinder.Keys<ObjectiveOptions>().Select(k => "objective." + k)
            .Concat(OptionsBinder.Keys<TrainerOptions>(TrainerOptions.RunLevelFields).Select(k => "trainer." + k))
            .Order(StringComparer.Ordinal);

        Assert.Equal(keys, Cases.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Keys))]
    public void Set_Field_ChangesWhatTrainingComputes(string key)
    {
        var (algorithm, extra, value) = Cases[key];
        var preset = Resolve(algorithm, extra);
        var changed = Resolve(algorithm, [.. extra, $"{key}={value}"]);
        var echoed = key.StartsWith("objective.", StringComparison.Ordinal) ? changed.DescribeObjective() : changed.DescribeTrainer();
        Assert.NotEqual(
            (key.StartsWith("objective.", StringComparison.Ordinal) ? preset.DescribeObjective() : preset.DescribeTrainer())[key[(key.IndexOf('.') + 1)..]],
            echoed[key[(key.IndexOf('.') + 1)..]]);

        var differences = Differences(Observe(preset), Observe(changed));

        Assert.True(differences.Count > 0, $"--set {key}={value} changed no loss, metric, advantage or penalty");
        Console.WriteLine($"{key}: {string.Join("; ", differences.Take(3))}");
    }

    [Theory]
    [InlineData("grpo")]
    [InlineData("dapo")]
    [InlineData("rloo")]
    [InlineData("clip-cov")]
    public void Observe_SameSettingsTwice_GivesTheSameObservations(string algorithm)
    {
        // The guard for the test above: a difference there comes from the setting, not from run-to-run noise.
        var resolved = Resolve(algorithm, ["trainer.ppoEpochs=2", "trainer.miniBatches=2"]);

        var differences = Differences(Observe(resolved), Observe(resolved));

        Assert.Empty(differences);
    }

    private static List<string> Differences(Dictionary<string, double> before, Dictionary<string, double> after) =>
        [.. before.Keys.Union(after.Keys)
            .Where(k => !MetricColumns.IsWallClock(WithoutStep(k)))   // timings differ between any two runs
            .Where(k => !before.TryGetValue(k, out var a) || !after.TryGetValue(k, out var b) || Math.Abs(a - b) > 1e-12 + (1e-7 * Math.Max(Math.Abs(a), Math.Abs(b))))
            .Select(k => $"{k}: {before.GetValueOrDefault(k, double.NaN)} → {after.GetValueOrDefault(k, double.NaN)}")];

    private static ResolvedAlgorithm Resolve(string algorithm, string[] sets) =>
        ResolvedAlgorithm.ForRun(TrainCommands.Resolve(null, null, algorithm, steps: 4, seed: 0, runDir: null, [.. sets, "learningRate=0.003", "groupSize=4", "promptsPerStep=2"]));

    /// <summary>
    /// The step's observable outputs for one resolved algorithm: dynamic-sampling counts, shaped rewards, KL penalties and
    /// coefficients over two steps, per-trajectory advantages, and the trainer metrics of three updates (each sees the weights the
    /// earlier ones produced; AdamW's first update does not depend on β1 or β2).
    /// </summary>
    private static Dictionary<string, double> Observe(ResolvedAlgorithm algorithm)
    {
        const int ContextBudget = 24;
        var objective = algorithm.Objective;
        using var model = MicroModel();
        var batches = GenerationBatches(model);
        var observed = new Dictionary<string, double>(StringComparer.Ordinal);

        // Rollout: DAPO's dynamic sampling over the generation batches, as RolloutPhase runs it.
        IReadOnlyList<EpisodeResult> groups = batches[0];
        if (objective.FilterGroups)
        {
            var sampling = new DynamicSamplingBatch(target: 2, objective.MaxNumGenBatches);
            while (sampling.NeedsMore)
            {
                sampling.Add(batches[sampling.Batches % batches.Count], g => [.. RewardShaping.ApplyOverlong(g.Trajectories, objective, ContextBudget).Select(t => t.Reward)]);
            }

            groups = sampling.Kept;
            Put(observed, sampling.Metrics());
        }

        using var trainer = new PolicyTrainer(model, algorithm.Trainer);

        // Reward: overlong shaping, then KL in the reward (twice, so an adaptive controller's update shows).
        var trajectories = RewardShaping.ApplyOverlong([.. groups.SelectMany(g => g.Trajectories)], objective, ContextBudget);
        if (objective.UseKlInReward)
        {
            var examples = trajectories.Select(t => TrainingExample.FromTrajectory(t, 0)).ToList();
            for (var step = 1; step <= 2; step++)
            {
                var kl = trainer.RewardKlPenalties(examples);
                observed[$"reward/kl_coef/{step}"] = kl.Coef;
                observed[$"reward/kl/{step}"] = kl.CurrentKl;
                if (step == 1)
                {
                    trajectories = RewardShaping.Add(trajectories, [.. kl.Penalties.Select(p => -p)], RewardShaping.KlPenaltyPart);
                }
            }
        }

        for (var i = 0; i < trajectories.Count; i++)
        {
            observed[$"reward/{i}"] = trajectories[i].Reward;
        }

        // Advantage and Update: the examples of the trainer grain's UpdateAsync, trained twice.
        var advantages = TrajectoryExamples.Advantages(trajectories, objective, algorithm.Attribution);
        for (var i = 0; i < advantages.PerTrajectory.Length; i++)
        {
            observed[$"advantage/{i}"] = advantages.PerTrajectory[i];
        }

        var batch = TrajectoryExamples.Examples(trajectories, advantages);
        for (var step = 1; step <= 3; step++)
        {
            Put(observed, trainer.TrainStep(batch).ToDictionary(), $"/{step}");
        }

        // A warm-start SFT step on long and short rows, as the warm start mixes demonstrations and echo examples.
        var random = new Random(4);
        SftExample[] sft = [.. new[] { 40, 40, 6, 6 }.Select(n => new SftExample([.. Enumerable.Range(0, n).Select(_ => random.Next(1, 64))], [.. Enumerable.Repeat((byte)1, n)]))];
        Put(observed, trainer.SftStep(sft, 1e-3).ToDictionary(), "/4");

        return observed;
    }

    /// <summary>A trainer metric observed as <c>{metric}/{step}</c> back to its metric name.</summary>
    private static string WithoutStep(string key) =>
        key.LastIndexOf('/') is var slash and > 0 && int.TryParse(key[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture, out _) ? key[..slash] : key;

    private static void Put(Dictionary<string, double> observed, IReadOnlyDictionary<string, double> metrics, string suffix = "")
    {
        foreach (var (key, value) in metrics)
        {
            observed[key + suffix] = value;
        }
    }

    private static CausalLanguageModel MicroModel()
    {
        var model = new CausalLanguageModel(new ModelConfig
        {
            VocabSize = 64,
            HiddenSize = 32,
            IntermediateSize = 64,
            NumHiddenLayers = 2,
            NumAttentionHeads = 4,
            NumKeyValueHeads = 2,
            MaxPositionEmbeddings = 64,
        });
        model.InitializeWeights(0.2, 1);
        return model;
    }

    /// <summary>
    /// Four generation batches of two groups of four. Batch 0: a group with a reward spread (holding a fork: branch 0.0
    /// shares branch 0's first 6 tokens) and a group of equal rewards, which dynamic sampling drops; later batches alternate.
    /// Behaviour log-probs are the model's own plus noise (biased up, so KL to the reference is positive), so importance
    /// ratios differ from 1 and the clips bind.
    /// </summary>
    private static List<IReadOnlyList<EpisodeResult>> GenerationBatches(CausalLanguageModel model)
    {
        var random = new Random(11);
        // Responses of 5 to 21 tokens in a context budget of 24: those over 17 fall in DAPO's overlong buffer. Groups of
        // equal rewards are short, so their shaped rewards stay equal and dynamic sampling drops them.
        int[][] lengths = [[8, 12, 22, 24], [10, 12, 9, 14], [9, 11, 13, 15], [23, 16, 21, 10], [10, 10, 12, 12], [8, 22, 16, 24], [11, 9, 14, 8], [21, 10, 12, 23]];
        double[][] rewards = [[1, 0, 0.5, 0], [0.3, 0.3, 0.3, 0.3], [0, 0, 0, 0], [1, 1, 0, 1], [0.2, 0.2, 0.2, 0.2], [0, 1, 1, 0], [1, 1, 1, 1], [0.5, 0, 0, 0]];
        var groups = rewards.Select((group, g) => new EpisodeResult($"e{g}", [.. group.Select((reward, i) =>
        {
            var length = lengths[g][i];
            var ids = Enumerable.Range(0, length).Select(_ => random.Next(64)).ToArray();
            return Trajectory(model, $"g{g}", i.ToString(System.Globalization.CultureInfo.InvariantCulture), ids, reward, random);
        })], 0)).ToList();

        // The fork shares its parent's prefix.
        var root = groups[0].Trajectories[0];
        var fork = groups[0].Trajectories[1];
        int[] forkIds = [.. root.TokenIds[..6], .. fork.TokenIds[6..]];
        groups[0] = groups[0] with
        {
            Trajectories = [root, Trajectory(model, "g0", "0.0", forkIds, fork.Reward, random) with { ParentPath = "0", ForkPosition = 6, Depth = 1 }, .. groups[0].Trajectories.Skip(2)],
        };
        return [.. groups.Chunk(2).Select(c => (IReadOnlyList<EpisodeResult>)c)];
    }

    private static Trajectory Trajectory(CausalLanguageModel model, string group, string path, int[] ids, double reward, Random random)
    {
        const int Prompt = 3;
        var scores = PolicyForward.ScoreToArrays(model, [new TrainingSequence(ids)])[0];
        var mask = ids.Select((_, t) => (byte)(t >= Prompt ? 1 : 0)).ToArray();
        var logprobs = ids.Select((_, t) => t >= Prompt ? scores.LogProbs[t - 1] + 0.1f + (0.4f * (float)((random.NextDouble() * 2) - 1)) : 0f).ToArray();
        return new Trajectory
        {
            GroupId = group,
            BranchPath = path,
            TokenIds = ids,
            PromptLength = Prompt,
            LossMask = mask,
            Logprobs = logprobs,
            Entropies = new float[ids.Length],
            PolicyVersions = new long[ids.Length],
            FinishReason = FinishReason.Eos,
            Reward = reward,
        };
    }
}
