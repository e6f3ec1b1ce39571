using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AgentRl.Policy.Generation;
using AgentRl.Policy.Model;
using AgentRl.Policy.Training;
using static TorchSharp.torch;

// --config tiny|small|PATH/config.json
// agentrl-bench generate --config tiny|small --batch B --prompt-len 32 --new-tokens 96 --runs 5 [--threads 2] [--engine-threads 1]
//   [--batch-invariant on|off|both]: both times the batch-invariant engine against torch prefill side by side
// agentrl-bench train    --config tiny|small --batch 16 --seq-len 128 --runs 5 [--threads 2]
// agentrl-bench rl       --config tiny --batch 16 --seq-len 128 --runs 5 [--algorithm grpo] [--token-budget 4096]   (PolicyTrainer.TrainStep)
// agentrl-bench sft      --config tiny --batch 16 --seq-len 128 --runs 5 [--token-budget 4096]                      (PolicyTrainer.SftStep)
// agentrl-bench sft      --packing both [--short-len 14 --short-share 0.5 --overhead-tokens 64]   (cut by cost against one padded micro-batch)
// agentrl-bench rl ... --tree-forks F [--fork-at 0.6]: the batch as rollout trees (batch / (1 + F) roots, F forks of each
//   at fork-at of its length); times TrainStep with shared prefixes packed and with one row per path, interleaved run by
//   run, and prints both medians and their ratio.
// agentrl-bench pool     --silos 1|2 --groups 10000 --shards 8 --capacity 4096 --batch 64 --completions 8 --draws 200 --external 4 [--storage memory|redis] [--redis HOST:PORT]
//   (an experience pool on an in-process cluster: publish and draw latency, managed memory held; see PoolBench)
// agentrl-bench async    --modes sync,1,2,4,sync-os2 --steps 6 --prompts 8 --group 4 --repeats 1 [--tool-concurrency 64]
//   [--warm-dir DIR] [--latency-min-ms 50 --latency-max-ms 3000 --latency-alpha 1.1]
//   (sync against async training (a number is η) and APRIL's over-sampling (sync-osR) with a heavy-tailed tool delay on
//   an in-process silo; the warm start is kept in --warm-dir and reused; see AsyncBench)
// agentrl-bench load     --episodes 10000 --new-tokens 8 [--silos 1 | --cluster redis://HOST:PORT --cluster-id ID]
//   (that many episode grains at once on the tiny preset: outcomes, memory per episode, grain-call overhead; see LoadBench)
// agentrl-bench device-check --device cuda|cpu|cuda:N --dtype auto|f32|bf16|f16 --steps 3 [--config tiny|small]
//   (the GPU silo's compute path on one device: forward against f32 CPU, generation, trainer steps with master weights,
//   checkpoint into an f32 CPU engine; exit 0 when every check passed; see DeviceCheck and bench/gpu-check.sh)
// Prints one JSON line: tokens_per_s is the median over the timed runs after one warm-up run.
if (args.Length == 0 || args[0] is not ("generate" or "train" or "rl" or "sft" or "profile" or "pool" or "async" or "device-check" or "load"))
{
    Console.Error.WriteLine("usage: agentrl-bench generate|train|rl|sft|profile|pool|async|device-check|load [--config tiny|small|PATH/config.json] [--batch B] [--prompt-len N] [--new-tokens N] [--seq-len N] [--runs N] [--threads N]");
    return 2;
}

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

if (args[0] == "pool")
{
    return await AgentRl.Bench.PoolBench.RunAsync(options);
}

if (args[0] == "load")
{
    return await AgentRl.Bench.LoadBench.RunAsync(options);
}

if (args[0] == "device-check")
{
    return await AgentRl.Bench.DeviceCheck.RunAsync(options);
}

if (args[0] == "async")
{
    return await AgentRl.Bench.AsyncBench.RunAsync(options);
}

int Int(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

var threads = Int("threads", 2);
set_num_threads(threads);   // once, before any torch work (torch applies set_num_threads only to threads that have not run torch code yet)
var configName = options.GetValueOrDefault("config", "tiny");
// tiny | small, or the path of a Hugging Face config.json (random weights of that shape, f32).
var config = configName.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? AgentRl.Policy.HuggingFace.HfJson.ReadModelConfig(configName) : ModelConfig.Named(configName);
var runs = Int("runs", 5);
var batch = Int("batch", args[0] == "generate" ? 1 : 16);
random.manual_seed(0);
using var model = new CausalLanguageModel(config);
model.InitializeWeights(0.02, seed: 0);
var parameters = model.parameters().Sum(p => p.numel());

if (args[0] == "profile")
{
    AgentRl.Bench.Profile.Run(model);
    return 0;
}

double[] times;
var cpuTimes = new List<double>();
long tokensPerRun;
if (args[0] == "generate")
{
    var promptLength = Int("prompt-len", 32);
    var newTokens = Int("new-tokens", 96);
    model.eval();
    // --batch-invariant on|off (default on, the engine default) or both: on and off interleaved run by run, one fresh
    // engine per timed run after a warm-up, printing both medians and their ratio.
    var invariance = options.GetValueOrDefault("batch-invariant", "on");
    InferenceEngineOptions EngineOptions(bool invariant) => new()
    {
        MaxBatchSize = Math.Max(64, batch),
        BatchingWindow = TimeSpan.Zero,
        IntraOpThreads = Int("engine-threads", 1),
        CpuDecodeMaxBatch = Int("cpu-decode-max-batch", new InferenceEngineOptions().CpuDecodeMaxBatch),
        CpuDecodeThreads = Int("cpu-decode-threads", 0),
        BatchInvariant = invariant,
    };

    async Task<double> RunOnce(InferenceEngine engine, int run)
    {
        var promptRandom = new Random(1 + run);
        var requests = Enumerable.Range(0, batch).Select(i => new GenerationRequest
        {
            PromptTokenIds = Enumerable.Range(0, promptLength).Select(_ => promptRandom.Next(config.VocabSize)).ToArray(),
            MaxNewTokens = newTokens,
            Temperature = 1.0,
            Seed = (run * batch) + i,
        }).ToList();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var results = await Task.WhenAll(requests.Select(r => engine.GenerateAsync(r)));
        var elapsed = watch.Elapsed.TotalSeconds;
        cpuTimes.Add((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds);
        if (results.Any(r => r.TokenIds.Length != newTokens))
        {
            throw new InvalidOperationException("A request stopped early; the bench needs exactly new-tokens per request.");
        }

        return elapsed;
    }

    tokensPerRun = (long)batch * newTokens;
    if (invariance == "both")
    {
        var (on, off) = (new double[runs], new double[runs]);
        for (var run = 0; run < runs; run++)
        {
            foreach (var invariant in run % 2 == 0 ? new[] { true, false } : [false, true])
            {
                using var engine = new InferenceEngine(model, options: EngineOptions(invariant));
                await RunOnce(engine, -1);
                (invariant ? on : off)[run] = await RunOnce(engine, run);
            }
        }

        double Median(double[] t) => t.Order().ElementAt(t.Length / 2);
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["mode"] = "generate",
            ["config"] = configName,
            ["batch"] = batch,
            ["prompt_len"] = promptLength,
            ["new_tokens"] = newTokens,
            ["threads"] = threads,
            ["runs"] = runs,
            ["invariant_tokens_per_s"] = Math.Round(tokensPerRun / Median(on), 1),
            ["torch_tokens_per_s"] = Math.Round(tokensPerRun / Median(off), 1),
            ["invariant_over_torch"] = Math.Round(Median(off) / Median(on), 3),
            ["invariant_run_s"] = on.Select(t => Math.Round(t, 5)).ToArray(),
            ["torch_run_s"] = off.Select(t => Math.Round(t, 5)).ToArray(),
        }));
        return 0;
    }

    using (var engine = new InferenceEngine(model, options: EngineOptions(invariance != "off")))
    {
        await RunOnce(engine, -1);
        times = new double[runs];
        for (var run = 0; run < runs; run++)
        {
            times[run] = await RunOnce(engine, run);
        }
    }
}
else if (args[0] is "rl" or "sft")
{
    var seqLength = Int("seq-len", 128);
    var trainerModel = new CausalLanguageModel(config);
    trainerModel.InitializeWeights(0.02, seed: 0);
    using var trainer = new PolicyTrainer(trainerModel, new TrainerOptions
    {
        Algorithm = options.GetValueOrDefault("algorithm", "grpo"),
        LearningRate = 1e-5,
        TokenBudget = Int("token-budget", 4096),
    });
    var dataRandom = new Random(2);
    var examples = Enumerable.Range(0, batch).Select(_ =>
    {
        var ids = Enumerable.Range(0, seqLength).Select(_ => dataRandom.Next(config.VocabSize)).ToArray();
        var mask = Enumerable.Range(0, seqLength).Select(t => (byte)(t < seqLength / 4 ? 0 : 1)).ToArray();
        var old = Enumerable.Range(0, seqLength).Select(t => t < seqLength / 4 ? 0f : -6.2f).ToArray();
        return new TrainingExample(ids, mask, old) { Advantage = (float)((dataRandom.NextDouble() * 2) - 1) };
    }).ToArray();
    var demonstrations = examples.Select(e => new SftExample(e.TokenIds, e.LossMask)).ToArray();
    var forks = Int("tree-forks", 0);
    if (args[0] == "rl" && forks > 0)
    {
        // Trees: every (1 + forks)-th example is a root; the others continue it from fork-at of its length.
        var forkAt = (int)(seqLength * double.Parse(options.GetValueOrDefault("fork-at", "0.6"), CultureInfo.InvariantCulture));
        for (var i = 0; i < examples.Length; i++)
        {
            var root = i - (i % (1 + forks));
            examples[i] = i == root
                ? examples[i] with { SequenceKey = $"t{root}/0" }
                : examples[i] with
                {
                    TokenIds = [.. examples[root].TokenIds.Take(forkAt), .. examples[i].TokenIds.Skip(forkAt)],
                    SequenceKey = $"t{root}/0.{i - root}",
                    ParentKey = $"t{root}/0",
                    ForkPosition = forkAt,
                };
        }

        var plainModel = new CausalLanguageModel(config);
        plainModel.InitializeWeights(0.02, seed: 0);
        using var plain = new PolicyTrainer(plainModel, trainer.Options with { DeduplicatePrefixes = false });
        trainer.TrainStep(examples);
        plain.TrainStep(examples);
        var packedTimes = new List<double>();
        var plainTimes = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            packedTimes.Add(trainer.TrainStep(examples).Seconds);
            plainTimes.Add(plain.TrainStep(examples).Seconds);
        }

        var packedMedian = packedTimes.Order().ElementAt(runs / 2);
        var plainMedian = plainTimes.Order().ElementAt(runs / 2);
        var pathTokens = (long)batch * seqLength;
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["mode"] = "rl-tree",
            ["config"] = configName,
            ["batch"] = batch,
            ["seq_len"] = seqLength,
            ["tree_forks"] = forks,
            ["fork_at"] = forkAt,
            ["threads"] = threads,
            ["runs"] = runs,
            ["distinct_tokens"] = pathTokens - ((long)(batch - (batch / (1 + forks))) * forkAt),
            ["packed_median_s"] = Math.Round(packedMedian, 5),
            ["plain_median_s"] = Math.Round(plainMedian, 5),
            ["speedup"] = Math.Round(plainMedian / packedMedian, 3),
            ["packed_path_tokens_per_s"] = Math.Round(pathTokens / packedMedian, 1),
            ["plain_path_tokens_per_s"] = Math.Round(pathTokens / plainMedian, 1),
        }));
        return 0;
    }

    if (args[0] == "sft" && options.GetValueOrDefault("packing") == "both")
    {
        // The warm start's batches: a share of short rows (echo examples) among long ones (demonstrations), each SFT step
        // cut by cost (the default) and as one padded micro-batch within the budget (sftMicroBatchOverheadTokens 0), side by side.
        var shortLength = Int("short-len", 14);
        var shortRows = (int)Math.Round(batch * double.Parse(options.GetValueOrDefault("short-share", "0.5"), CultureInfo.InvariantCulture));
        var overhead = Int("overhead-tokens", new TrainerOptions().SftMicroBatchOverheadTokens);
        var mixed = demonstrations.Select((d, i) => i < batch - shortRows ? d : new SftExample(d.TokenIds[..shortLength], d.LossMask[..shortLength])).ToArray();
        var costModel = new CausalLanguageModel(config);
        costModel.InitializeWeights(0.02, seed: 0);
        var greedyModel = new CausalLanguageModel(config);
        greedyModel.InitializeWeights(0.02, seed: 0);
        using var byCost = new PolicyTrainer(costModel, trainer.Options with { SftMicroBatchOverheadTokens = overhead });
        using var greedy = new PolicyTrainer(greedyModel, trainer.Options with { SftMicroBatchOverheadTokens = 0 });
        var costFirst = byCost.SftStep(mixed, 1e-5);
        var greedyFirst = greedy.SftStep(mixed, 1e-5);
        var costTimes = new List<double>();
        var greedyTimes = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            costTimes.Add(byCost.SftStep(mixed, 1e-5).Seconds);
            greedyTimes.Add(greedy.SftStep(mixed, 1e-5).Seconds);
        }

        var costMedian = costTimes.Order().ElementAt(runs / 2);
        var greedyMedian = greedyTimes.Order().ElementAt(runs / 2);
        Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["mode"] = "sft-packing",
            ["config"] = configName,
            ["batch"] = batch,
            ["seq_len"] = seqLength,
            ["short_len"] = shortLength,
            ["short_rows"] = shortRows,
            ["overhead_tokens"] = overhead,
            ["threads"] = threads,
            ["runs"] = runs,
            ["by_cost_micro_batches"] = costFirst.MicroBatches,
            ["by_cost_padded_tokens"] = costFirst.PaddedTokens,
            ["greedy_micro_batches"] = greedyFirst.MicroBatches,
            ["greedy_padded_tokens"] = greedyFirst.PaddedTokens,
            ["by_cost_median_s"] = Math.Round(costMedian, 5),
            ["greedy_median_s"] = Math.Round(greedyMedian, 5),
            ["speedup"] = Math.Round(greedyMedian / costMedian, 3),
        }));
        return 0;
    }

    double Step() => args[0] == "rl" ? trainer.TrainStep(examples).Seconds : trainer.SftStep(demonstrations, 1e-5).Seconds;

    Step();
    times = Enumerable.Range(0, runs).Select(_ => Step()).ToArray();
    tokensPerRun = (long)batch * seqLength;
}
else
{
    var seqLength = Int("seq-len", 128);
    model.train();
    using var optimizer = optim.AdamW(model.parameters(), lr: 1e-5);
    var dataRandom = new Random(2);
    var sequences = Enumerable.Range(0, batch).Select(_ => new TrainingSequence(
        Enumerable.Range(0, seqLength).Select(_ => dataRandom.Next(config.VocabSize)).ToArray(),
        Enumerable.Range(0, seqLength).Select(t => t < seqLength / 4 ? 0f : 1f).ToArray())).ToArray();
    var advantages = Enumerable.Range(0, batch).Select(_ => (float)((dataRandom.NextDouble() * 2) - 1)).ToArray();

    double Step()
    {
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        using var scope = NewDisposeScope();
        using var micro = MicroBatch.Create(sequences, Enumerable.Range(0, batch).ToArray());
        optimizer.zero_grad();
        var scores = PolicyForward.Score(model, micro, withEntropy: false);
        var advantage = tensor(advantages).view(batch, 1);                                    // [batch, 1]
        var loss = scores.LogProbs.mul(advantage).neg().mul(micro.LossMask).sum().div(micro.LossMask.sum());   // []
        loss.backward();
        optimizer.step();
        var elapsed = watch.Elapsed.TotalSeconds;
        cpuTimes.Add((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds);
        return elapsed;
    }

    Step();
    times = Enumerable.Range(0, runs).Select(_ => Step()).ToArray();
    tokensPerRun = (long)batch * seqLength;
}

var median = times.Order().ElementAt(times.Length / 2);
var timedCpu = cpuTimes.Skip(1).Order().ToArray();
Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
{
    ["mode"] = args[0],
    ["config"] = configName,
    ["batch"] = batch,
    ["threads"] = threads,
    ["parameters"] = parameters,
    ["runs"] = runs,
    ["median_s"] = Math.Round(median, 5),
    ["tokens_per_s"] = Math.Round(tokensPerRun / median, 1),
    ["best_tokens_per_s"] = Math.Round(tokensPerRun / times.Min(), 1),
    ["median_cpu_s"] = Math.Round(timedCpu[timedCpu.Length / 2], 5),
    ["run_s"] = times.Select(t => Math.Round(t, 5)).ToArray(),
}));
return 0;

