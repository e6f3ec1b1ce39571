using AgentRl.Policy.Algorithms;
using AgentRl.Policy.Objectives;
using AgentRl.Policy.Tests.HuggingFace;
using AgentRl.Policy.Training;
using static AgentRl.Policy.Tests.Trainer.TrainerFixtures;

namespace AgentRl.Policy.Tests.Trainer;

/// <summary>KL in the reward (verl <c>apply_kl_penalty</c>): penalty_i = β·Σ_t m_t·kl_t(old, ref), then the controller update.</summary>
public sealed class RewardKlPenaltyTests
{
    private static TrainerOptions Options(bool adaptive, double beta = 0.05) => new()
    {
        Objective = AlgorithmRegistry.Objective("rloo") with
        {
            KlCtrlCoef = beta,
            KlCtrlAdaptive = adaptive,
            KlCtrlTarget = 0.1,
            KlCtrlHorizon = 50,
        },
        LearningRate = 1e-3,
    };

    /// <summary>
    /// A trainer whose policy has moved away from its reference (so a penalty computed from the policy would not be 0),
    /// and a batch whose OldLogProbs are the reference's own log-probs plus <paramref name="noise"/>·u, u uniform in [−1, 1].
    /// </summary>
    private static PolicyTrainer Setup(TrainerOptions options, float noise, out TrainingExample[] batch)
    {
        var trainer = new PolicyTrainer(TestModels.Create(), options);
        ScaleWeights([trainer], 1.1);
        batch = ToyBatch(trainer.ReferenceModel!, count: 5, offPolicyNoise: noise);
        return trainer;
    }

    /// <summary>Σ over mask-1 tokens t ≥ 1 of (old_t − logπ_ref,t), from a forward of the reference model.</summary>
    private static double[] HandKlSums(PolicyTrainer trainer, IReadOnlyList<TrainingExample> batch, out double[] counts)
    {
        var reference = PolicyForward.ScoreToArrays(trainer.ReferenceModel!, [.. batch.Select(e => new TrainingSequence(e.TokenIds))]);
        counts = [.. batch.Select(e => (double)e.TrainableTokenCount)];
        return [.. batch.Select((e, i) => Enumerable.Range(1, e.TokenIds.Length - 1)
            .Where(t => e.LossMask[t] != 0)
            .Sum(t => (double)e.OldLogProbs[t] - reference[i].LogProbs[t - 1]))];
    }

    [Fact]
    public void RewardKlPenalties_OldLogProbsOfTheReference_GiveZeroPenalties()
    {
        using var trainer = Setup(Options(adaptive: false), 0f, out var batch);

        var result = trainer.RewardKlPenalties(batch);

        Assert.Equal(batch.Length, result.Penalties.Length);
        Assert.All(result.Penalties, p => Assert.Equal(0, p, 1e-6));
        Assert.Equal(0, result.CurrentKl, 1e-6);
        Assert.Equal(0.05, result.Coef);
        // The guard: the policy itself is far from these log-probs, so the reference (not the policy) was used.
        var policy = MaskedLogProbSums(trainer.Model, batch);
        var old = batch.Select(e => Enumerable.Range(1, e.TokenIds.Length - 1).Where(t => e.LossMask[t] != 0).Sum(t => (double)e.OldLogProbs[t])).ToArray();
        Assert.Contains(Enumerable.Range(0, batch.Length), i => Math.Abs(policy[i] - old[i]) > 0.1);
    }

    [Fact]
    public void RewardKlPenalties_PerturbedOldLogProbs_PenaltyIsBetaTimesMaskedK1Sum()
    {
        using var trainer = Setup(Options(adaptive: false), 0.5f, out var batch);
        var sums = HandKlSums(trainer, batch, out var counts);

        var result = trainer.RewardKlPenalties(batch);

        Assert.All(sums, s => Assert.True(Math.Abs(s) > 1e-2, $"hand sum {s} too small to test with"));
        for (var i = 0; i < batch.Length; i++)
        {
            Assert.Equal(0.05 * sums[i], result.Penalties[i], 1e-6);
        }
        Assert.Equal(sums.Select((s, i) => s / counts[i]).Average(), result.CurrentKl, 1e-6);
        Assert.Equal(0.05, result.Coef);
        Assert.Equal(0.05, trainer.RewardKlCoef);   // the fixed controller keeps β
    }

    [Fact]
    public void RewardKlPenalties_SmallTokenBudget_SameAsOneMicroBatch()
    {
        var options = Options(adaptive: false);
        using var trainer = Setup(options with { TokenBudget = 16 }, 0.5f, out var batch);
        var sums = HandKlSums(trainer, batch, out _);
        Assert.True(TokenBudgetBatcher.Pack([.. batch.Select(e => e.TokenIds.Length)], 16).Count >= 3);

        var result = trainer.RewardKlPenalties(batch);

        for (var i = 0; i < batch.Length; i++)
        {
            Assert.Equal(0.05 * sums[i], result.Penalties[i], 1e-6);
        }
    }

    [Fact]
    public void RewardKlPenalties_AdaptiveController_UpdatesBetaWithTheBatchKl()
    {
        using var trainer = Setup(Options(adaptive: true), 0.5f, out var batch);

        var first = trainer.RewardKlPenalties(batch);

        // β ← β·(1 + clip(kl/target − 1, ±0.2)·n/horizon), n = the batch size; the penalties used the β before the update.
        var error = Math.Clamp((first.CurrentKl / 0.1) - 1, -0.2, 0.2);
        var expected = 0.05 * (1 + (error * batch.Length / 50.0));
        Assert.Equal(0.05, first.Coef);
        Assert.NotEqual(0.05, trainer.RewardKlCoef);
        Assert.Equal(expected, trainer.RewardKlCoef, 1e-12);

        var second = trainer.RewardKlPenalties(batch);

        Assert.Equal(expected, second.Coef, 1e-12);
        for (var i = 0; i < batch.Length; i++)
        {
            Assert.Equal(first.Penalties[i] / 0.05 * expected, second.Penalties[i], 1e-7);
        }
    }

    /// <summary>
    /// A batch shaped in parts (a swarm step's own and external groups) leaves the controller alone part by part and updates
    /// it once, with the trajectory-weighted KL of all: the β one updating call on the whole batch would give.
    /// </summary>
    [Fact]
    public void RewardKlPenalties_WithoutUpdate_KeepBeta_AndOneUpdateOfThePartsTogether_IsTheWholeBatchsUpdate()
    {
        using var trainer = Setup(Options(adaptive: true), 0.5f, out var batch);

        var own = trainer.RewardKlPenalties(batch[..2], updateController: false);
        var external = trainer.RewardKlPenalties(batch[2..], updateController: false);
        var whole = trainer.RewardKlPenalties(batch, updateController: false);
        Assert.Equal((0.05, 0.05, 0.05, 0.05), (own.Coef, external.Coef, whole.Coef, trainer.RewardKlCoef));
        Assert.Equal(whole.Penalties, [.. own.Penalties, .. external.Penalties], (a, b) => Math.Abs(a - b) < 1e-7);   // f32, other padding

        var mergedKl = ((own.CurrentKl * 2) + (external.CurrentKl * (batch.Length - 2))) / batch.Length;
        Assert.Equal(whole.CurrentKl, mergedKl, 1e-7);
        var beta = trainer.UpdateRewardKl(mergedKl, batch.Length);

        var error = Math.Clamp((whole.CurrentKl / 0.1) - 1, -0.2, 0.2);
        Assert.NotEqual(0.05, beta);
        Assert.Equal(0.05 * (1 + (error * batch.Length / 50.0)), beta, 1e-8);
        Assert.Equal(beta, trainer.RewardKlCoef);
    }

    [Fact]
    public void SaveThenLoad_AdaptiveController_KeepsTheAdaptedBeta()
    {
        using var directory = new TempDirectory();
        var options = Options(adaptive: true);
        using var trainer = Setup(options, 0.5f, out var batch);
        trainer.RewardKlPenalties(batch);
        trainer.RewardKlPenalties(batch);
        var adapted = trainer.RewardKlCoef;
        Assert.NotEqual(0.05, adapted);

        trainer.Save(directory.Path);
        using var resumed = PolicyTrainer.Resume(directory.Path, options);
        using var fresh = new PolicyTrainer(TestModels.Create(), options);

        Assert.Equal(0.05, fresh.RewardKlCoef);                       // a new trainer starts at the configured β
        Assert.Equal(adapted, resumed.RewardKlCoef);
        Assert.Equal(adapted, TrainerState.Load(directory.Path, fresh).RewardKlCoef);
        Assert.Equal(adapted, resumed.RewardKlPenalties(batch).Coef);
    }

    [Fact]
    public void SaveThenLoad_FixedController_KeepsTheConfiguredBeta()
    {
        using var directory = new TempDirectory();
        using var trainer = Setup(Options(adaptive: false), 0.5f, out var batch);
        trainer.RewardKlPenalties(batch);
        trainer.Save(directory.Path);

        using var resumed = PolicyTrainer.Resume(directory.Path, Options(adaptive: false, beta: 0.02));

        Assert.Equal(0.02, resumed.RewardKlCoef);                     // fixed: the run's configuration decides
    }

    [Fact]
    public void Reference_KeptForKlInRewardOnly_AndRequiredByRewardKlPenalties()
    {
        using var rloo = new PolicyTrainer(TestModels.Create(), new TrainerOptions { Algorithm = "rloo" });
        using var dapo = new PolicyTrainer(TestModels.Create(), new TrainerOptions { Algorithm = "dapo" });

        Assert.True(rloo.Objective.UseKlInReward && !rloo.Objective.UseKlLoss);
        Assert.NotNull(rloo.ReferenceModel);
        Assert.Equal(0.001, rloo.RewardKlCoef);
        Assert.Null(dapo.ReferenceModel);
        Assert.Throws<InvalidOperationException>(() => dapo.RewardKlPenalties(ToyBatch(dapo.Model, count: 2)));
    }

    [Fact]
    public void RewardKlPenalties_K2InReward_UsesTheConfiguredEstimator()
    {
        var options = Options(adaptive: false) with { Objective = Options(adaptive: false).Objective! with { KlInRewardType = KlEstimator.K2 } };
        using var trainer = Setup(options, 0.5f, out var batch);
        var reference = PolicyForward.ScoreToArrays(trainer.ReferenceModel!, [.. batch.Select(e => new TrainingSequence(e.TokenIds))]);
        var expected = batch.Select((e, i) => 0.05 * Enumerable.Range(1, e.TokenIds.Length - 1)
            .Where(t => e.LossMask[t] != 0)
            .Sum(t => 0.5 * Math.Pow(e.OldLogProbs[t] - reference[i].LogProbs[t - 1], 2))).ToArray();

        var result = trainer.RewardKlPenalties(batch);

        for (var i = 0; i < batch.Length; i++)
        {
            Assert.Equal(expected[i], result.Penalties[i], 1e-6);
        }
        Assert.All(result.Penalties, p => Assert.True(p > 0));
    }
}
