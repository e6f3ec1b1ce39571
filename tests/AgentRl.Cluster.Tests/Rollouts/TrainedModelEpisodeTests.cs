using AgentRl.Abstractions.Rollouts;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Policies;
using AgentRl.Grains.Tasks;
using AgentRl.Policy.Chat;
using AgentRl.Policy.HuggingFace;
using AgentRl.Policy.Model;
using AgentRl.Policy.Tokenization;
using AgentRl.Policy.Training;
using AgentRl.Tasks;
using AgentRl.Tools.Catalog;

namespace AgentRl.Cluster.Tests.Rollouts;

/// <summary>
/// 200 episodes (group size 1) on a two-silo cluster with a tiny model briefly fine-tuned on gold demonstrations, so that it really
/// calls tools: real engine, generator, sandbox (calculator) and reward on every trajectory.
/// </summary>
public sealed class TrainedModelEpisodeTests : IDisposable
{
    private readonly string _modelDir = Path.Combine(Path.GetTempPath(), "agentrl-sft-model-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task RunEpisodes_BrieflyTrainedTinyModelOnTwoSilos_ToolCallsHappenAndTrajectoriesStayConsistent()
    {
        var task = TaskRegistry.CreateDefault().Create("arithmetic");
        var tokenizer = new ByteLevelTokenizer();
        var template = ChatTemplates.Create(ChatTemplates.Compact, tokenizer);
        var catalog = new ToolCatalog(new ToolCatalogOptions());
        using (var session = catalog.OpenSession(task.AllowedTools))
        {
            var demos = new List<SftExample>();
            foreach (var item in task.Generate(TaskSplit.Train, 16, seed: 9))
            {
                var demo = await task.BuildDemonstrationAsync(item, session);
                demos.Add(DemonstrationTokens.Build(template, demo.Messages, session.Tools));
            }

            var model = new CausalLanguageModel(ModelConfig.Tiny with { VocabSize = tokenizer.VocabSize, MaxPositionEmbeddings = 512 });
            model.InitializeWeights(seed: 1);
            using var trainer = new PolicyTrainer(model);
            SftTrainer.Run(trainer, demos, new SftOptions { Epochs = 20, BatchSize = 4, LearningRate = 3e-3, WarmupSteps = 4 });
            HfCheckpoint.Save(_modelDir, trainer.Model.Config, trainer.Model);
            tokenizer.Save(_modelDir);
        }

        await using var cluster = await AgentRlTestCluster.StartAsync(2);
        var items = task.Generate(TaskSplit.Eval, 200, seed: 2);
        var limits = new RolloutLimits(MaxTurns: 3, MaxNewTokensPerTurn: 128, ContextBudget: 384);
        var results = await Task.WhenAll(items.Select((item, i) =>
            cluster.Client.GetGrain<IEpisodeGrain>($"sft/0/{i}").RunAsync(
                new EpisodeSpec(PolicyHostOptions.DirectoryPrefix + _modelDir, "arithmetic", TaskCatalog.ToJson(item), GroupSize: 1, new SamplingSettings(Temperature: 0.6), limits, Seed: i))));

        var trajectories = results.SelectMany(r => r.Trajectories).ToList();
        Assert.Equal(200, trajectories.Count);
        var calls = trajectories.SelectMany(t => t.ToolCalls).ToList();
        Assert.True(calls.Count >= 20, $"only {calls.Count} tool calls (with observations) in 200 episodes");
        // The briefly trained model names the right tool; its expressions are often wrong, which the calculator reports
        // as error observations with a kind, never as a failed episode.
        Assert.True(calls.Count(c => c.Name == "calculator-evaluate") >= 10, "the model should mostly call calculator-evaluate: " + string.Join(", ", calls.GroupBy(c => (c.Name, c.ErrorKind)).Select(g => $"{g.Key}×{g.Count()}")) + " e.g. " + calls.FirstOrDefault(c => c.IsError)?.ArgumentsJson);
        Assert.All(calls.Where(c => c.IsError), c => Assert.False(string.IsNullOrEmpty(c.ErrorKind)));
        foreach (var t in trajectories)
        {
            Assert.True(t.TokenIds.Length <= limits.ContextBudget);
            Assert.All(Enumerable.Range(0, t.TokenIds.Length), p => Assert.Equal(t.LossMask[p] == 1, t.PolicyVersions[p] >= 0));
            Assert.All(Enumerable.Range(0, t.PromptLength), p => Assert.Equal(0, t.LossMask[p]));
            foreach (var call in t.ToolCalls)
            {
                // The observation tokens sit where the record says, with loss mask 0, and hold the observation text.
                Assert.All(Enumerable.Range(call.ObservationStart, call.ObservationLength), p => Assert.Equal(0, t.LossMask[p]));
                var observed = tokenizer.Decode(t.TokenIds.AsSpan(call.ObservationStart, call.ObservationLength));
                Assert.Contains(call.Observation.Trim(), observed, StringComparison.Ordinal);
            }

            Assert.InRange(t.Reward, 0, 1);
        }
    }

    public void Dispose()
    {
        if (Directory.Exists(_modelDir))
        {
            Directory.Delete(_modelDir, recursive: true);
        }
    }
}
