using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using AgentRl.Policy.HuggingFace;
using AgentRl.Policy.Model;
using static TorchSharp.torch;

namespace AgentRl.Policy.Training;

/// <summary>The counters of a trainer, written as <c>trainer_state.json</c>.</summary>
public sealed record TrainerCounters(
    [property: JsonPropertyName("policy_version")] long PolicyVersion,
    [property: JsonPropertyName("rl_steps")] long RlSteps,
    [property: JsonPropertyName("rl_optimizer_steps")] long RlOptimizerSteps,
    [property: JsonPropertyName("sft_steps")] long SftSteps,
    [property: JsonPropertyName("optimizer_steps")] long OptimizerSteps,
    [property: JsonPropertyName("format")] int Format = TrainerState.Format,
    [property: JsonPropertyName("reward_kl_coef")] double? RewardKlCoef = null);

/// <summary>
/// A trainer's full state in one directory, enough to resume bit-exactly:
/// <list type="bullet">
/// <item><c>model/</c>: the weights in Hugging Face layout (<see cref="HfCheckpoint"/>), loadable by any HF tool; a bf16 or f16
/// trainer writes its f32 master weights here;</item>
/// <item><c>reference/</c>: the frozen reference weights, when the trainer keeps them;</item>
/// <item><c>optimizer.safetensors</c>: AdamW moments <c>exp_avg.NAME</c> / <c>exp_avg_sq.NAME</c> (f32), the step count in the metadata;</item>
/// <item><c>trainer_state.json</c>: <see cref="TrainerCounters"/>, written last (a directory with it is complete).</item>
/// </list>
/// </summary>
public static class TrainerState
{
    public const int Format = 1;
    public const string ModelDirectory = "model";
    public const string ReferenceDirectory = "reference";
    public const string OptimizerFileName = "optimizer.safetensors";
    public const string StateFileName = "trainer_state.json";
    private const string StepKey = "step";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Writes the trainer's state; an existing state in the directory is replaced.</summary>
    public static void Save(string directory, PolicyTrainer trainer)
    {
        Directory.CreateDirectory(directory);
        File.Delete(Path.Combine(directory, StateFileName));
        HfCheckpoint.Save(Path.Combine(directory, ModelDirectory), trainer.Model.Config, trainer.Weights);
        var referencePath = Path.Combine(directory, ReferenceDirectory);
        if (trainer.ReferenceModel is { } reference)
        {
            HfCheckpoint.Save(referencePath, reference.Config, reference);
        }
        else if (Directory.Exists(referencePath))
        {
            Directory.Delete(referencePath, recursive: true);
        }
        SafetensorsWriter.Write(
            Path.Combine(directory, OptimizerFileName),
            trainer.Optimizer.State(),
            new Dictionary<string, string>
            {
                ["format"] = "pt",
                [StepKey] = trainer.Optimizer.StepCount.ToString(CultureInfo.InvariantCulture),
            });
        var counters = new TrainerCounters(
            trainer.PolicyVersion, trainer.RlSteps, trainer.RlOptimizerSteps, trainer.SftSteps, trainer.Optimizer.StepCount)
        {
            RewardKlCoef = trainer.Objective.UseKlInReward ? trainer.RewardKlCoef : null,
        };
        File.WriteAllText(Path.Combine(directory, StateFileName), JsonSerializer.Serialize(counters, Json));
    }

    /// <summary>
    /// Restores weights, reference, optimizer state into <paramref name="trainer"/> and returns the counters. A trainer with a
    /// reference policy takes the loaded weights as its reference when the state has none.
    /// </summary>
    public static TrainerCounters Load(string directory, PolicyTrainer trainer)
    {
        var statePath = Path.Combine(directory, StateFileName);
        if (!File.Exists(statePath))
        {
            throw new FileNotFoundException($"{directory} holds no complete trainer state ({StateFileName} is missing).", statePath);
        }
        var counters = JsonSerializer.Deserialize<TrainerCounters>(File.ReadAllText(statePath))
            ?? throw new InvalidDataException($"{statePath} is empty.");
        if (counters.Format != Format)
        {
            throw new InvalidDataException($"{statePath} has format {counters.Format}; this build reads {Format}.");
        }

        using (var checkpoint = HfCheckpoint.Open(Path.Combine(directory, ModelDirectory)))
        {
            checkpoint.LoadInto(trainer.Weights);
        }
        trainer.SyncComputeWeights();
        var referencePath = Path.Combine(directory, ReferenceDirectory);
        if (trainer.ReferenceModel is { } reference)
        {
            if (Directory.Exists(referencePath))
            {
                using var checkpoint = HfCheckpoint.Open(referencePath);
                checkpoint.LoadInto(reference);
            }
            else
            {
                // Saved by a trainer without a reference (e.g. a GRPO warm start loaded by a KL algorithm): the loaded
                // weights are the reference, as after a warm start of this trainer's own.
                trainer.ResetReference();
            }
        }

        using var optimizerFile = SafetensorsFile.Open(Path.Combine(directory, OptimizerFileName));
        var step = long.Parse(optimizerFile.Header.Metadata[StepKey], CultureInfo.InvariantCulture);
        var state = optimizerFile.ReadAll(device: trainer.Model.Device);
        try
        {
            trainer.Optimizer.LoadState(state, step);
        }
        finally
        {
            foreach (var tensor in state.Values)
            {
                tensor.Dispose();
            }
        }
        return counters;
    }

    /// <summary>A model of the saved configuration (weights are loaded by <see cref="Load"/>).</summary>
    public static CausalLanguageModel CreateModel(string directory, Device? device = null)
    {
        using var checkpoint = HfCheckpoint.Open(Path.Combine(directory, ModelDirectory));
        return new CausalLanguageModel(checkpoint.Config, device);
    }
}
