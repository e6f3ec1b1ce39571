using System.CommandLine;
using System.Globalization;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Grains.Policies;
using AgentRl.Grains.Reporting;
using AgentRl.Grains.Tasks;
using AgentRl.Tasks;
using AgentRl.Tasks.Rewards;

namespace AgentRl.Client.Commands;

/// <summary><c>agentrl eval --checkpoint DIR --task T</c>: greedy pass@1 of a Hugging Face checkpoint on a task's held-out split.</summary>
public static class EvalCommands
{
    public static Command Create(CliContext context)
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "Model directory (Hugging Face layout), e.g. runs/RUN/checkpoints/v000042.", Required = true };
        var task = new Option<string>("--task") { Description = "Task to evaluate on.", DefaultValueFactory = _ => "arithmetic" };
        var count = new Option<int>("--n") { Description = "Held-out items.", DefaultValueFactory = _ => 64 };
        var seed = new Option<int>("--seed") { Description = "Seed of the held-out items.", DefaultValueFactory = _ => 0 };
        var show = new Option<int>("--show") { Description = "Print this many conversations.", DefaultValueFactory = _ => 1 };
        var maxTurns = new Option<int>("--max-turns") { Description = "Turns per episode.", DefaultValueFactory = _ => 4 };
        var contextBudget = new Option<int>("--context") { Description = "Context budget in tokens.", DefaultValueFactory = _ => 384 };
        var command = new Command("eval", "Evaluate a checkpoint on a task's held-out split (greedy pass@1).") { checkpoint, task, count, seed, show, maxTurns, contextBudget };
        command.SetAction((parse, ct) =>
        {
            var directory = Path.GetFullPath(parse.GetValue(checkpoint)!);
            if (!File.Exists(Path.Combine(directory, "config.json")))
            {
                Console.Error.WriteLine($"agentrl: {directory} has no config.json; give a Hugging Face model directory.");
                return Task.FromResult(2);
            }

            return context.RunAsync(parse, async (connection, output) =>
            {
                var taskName = parse.GetValue(task)!;
                var items = TaskRegistry.CreateDefault().Create(taskName).Generate(TaskSplit.Eval, parse.GetValue(count), parse.GetValue(seed));
                var limits = new RolloutLimits(MaxTurns: parse.GetValue(maxTurns), MaxNewTokensPerTurn: 128, ContextBudget: parse.GetValue(contextBudget));
                var policyId = PolicyHostOptions.DirectoryPrefix + directory;
                var run = Guid.NewGuid().ToString("N")[..8];
                var results = await Task.WhenAll(items.Select((item, i) =>
                    connection.Client.GetGrain<IEpisodeGrain>($"eval-{run}/{i}").RunAsync(
                        new EpisodeSpec(policyId, taskName, TaskCatalog.ToJson(item), 1, new SamplingSettings(Temperature: 0), limits, i),
                        ct)));
                var trajectories = results.Select(r => r.Trajectories[0]).ToList();
                var solved = trajectories.Count(t => t.RewardParts.GetValueOrDefault(RewardParts.Correctness) >= 1);
                foreach (var t in trajectories.Take(parse.GetValue(show)))
                {
                    TrajectoryText.Write(output, $"--- {t.GroupId} reward {t.Reward:0.00} finish {t.FinishReason}", t.Conversation.Select(TrajectoryMessage.From));
                }

                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{taskName}: accuracy {solved}/{trajectories.Count} = {(double)solved / trajectories.Count:P1}, reward {trajectories.Average(t => t.Reward):0.000}, tool calls/traj {trajectories.Average(t => t.ToolCalls.Count):0.00}"));
                return 0;
            }, ct);
        });
        return command;
    }
}
