using System.CommandLine;
using System.Text.Json;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tasks;

namespace AgentRl.Cli.Commands;

/// <summary>
/// <c>agentrl tasks …</c>: the cluster's tasks (bundled and the silos' plug-ins, through <c>ITaskCatalogGrain</c>), and
/// sample items with gold demonstrations built on a silo with its real tool catalog, python-run included (in its sandbox).
/// </summary>
public static class TaskCommands
{
    public static Command Create(CliContext context)
    {
        var tasks = new Command("tasks", "List the cluster's tasks (bundled and plug-ins) and show sample items.");
        tasks.Subcommands.Add(List(context));
        tasks.Subcommands.Add(Sample(context));
        return tasks;
    }

    private static Command List(CliContext context)
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var command = new Command("list", "List the tasks: name, description, allowed tools and option defaults.") { json };
        // The cluster's task catalog: the bundled tasks and the silos' plug-ins.
        command.SetAction((parse, ct) => context.RunAsync(parse, async (connection, output) =>
        {
            var infos = await connection.Client.GetGrain<ITaskCatalogGrain>(0).GetTasksAsync(ct);
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(infos, CliContext.JsonOptions));
                return 0;
            }

            foreach (var info in infos)
            {
                output.WriteLine(info.Name + (info.Source == "bundled" ? string.Empty : $"  (plug-in: {info.Source})"));
                output.WriteLine($"  {info.Description}");
                output.WriteLine($"  tools: {string.Join(", ", info.AllowedTools)}");
                output.WriteLine($"  options: {string.Join(", ", info.OptionDefaults.Select(kv => $"{kv.Key}={kv.Value}"))}");
                output.WriteLine();
            }

            return 0;
        }, ct));
        return command;
    }

    private static Command Sample(CliContext context)
    {
        var name = new Argument<string>("task") { Description = "Task name (see tasks list)." };
        var count = new Option<int>("--n") { Description = "How many items.", DefaultValueFactory = _ => 3 };
        var seed = new Option<int>("--seed") { Description = "Seed of the items.", DefaultValueFactory = _ => 0 };
        var split = new Option<string>("--split") { Description = "train or eval.", DefaultValueFactory = _ => "train" };
        split.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } value && !SplitNames.Contains(value, StringComparer.OrdinalIgnoreCase))
            {
                r.AddError($"--split: '{value}' is not valid; expected train or eval.");
            }
        });
        var template = new Option<string>("--template") { Description = "Chat template: compact or qwen2.5 (rendered as text, by the cluster).", DefaultValueFactory = _ => "compact" };
        var set = new Option<string[]>("--set") { Description = "A task option, key=value (repeatable; see tasks list).", AllowMultipleArgumentsPerToken = false };
        var command = new Command("sample", "Print items of a task: prompt, answer, and a gold demonstration built with the real tools, rendered with a chat template.")
        {
            name, count, seed, split, template, set,
        };
        command.SetAction(async (parse, ct) =>
        {
            Dictionary<string, string> options;
            try
            {
                if (parse.GetValue(count) is < 1 or > TaskSampleRequest.MaxCount)
                {
                    throw new ArgumentException($"--n = {parse.GetValue(count)} is outside the allowed range [1, {TaskSampleRequest.MaxCount}].");
                }

                options = ParseOptions(parse.GetValue(set) ?? []);
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync($"agentrl: {CliContext.Message(e)}");
                return 2;
            }

            // Sampled on the cluster, with its task catalog (plug-ins included) and its real tools.
            return await context.RunAsync(parse, async (connection, output) =>
            {
                var taskName = parse.GetValue(name)!;
                var eval = string.Equals(parse.GetValue(split), "eval", StringComparison.OrdinalIgnoreCase);
                var samples = await connection.Client.GetGrain<ITaskCatalogGrain>(0).SampleAsync(new TaskSampleRequest(taskName, options, eval, parse.GetValue(count), parse.GetValue(seed), parse.GetValue(template)), ct);
                for (var i = 0; i < samples.Count; i++)
                {
                    var sample = samples[i];
                    output.WriteLine($"=== {taskName} {i + 1}/{samples.Count}: item {sample.Id} ({sample.Split}, {sample.Documents} documents)");
                    output.WriteLine($"prompt: {sample.Prompt}");
                    output.WriteLine($"answer: {sample.Answer}");
                    if (sample.Demonstration is not { } messages)
                    {
                        output.WriteLine($"no demonstration: {sample.DemonstrationProblem}");
                        output.WriteLine();
                        continue;
                    }

                    output.WriteLine($"tool calls{(sample.ToolResultsAgree ? string.Empty : " (the observations do not support the answer)")}:");
                    var call = 0;
                    foreach (var message in messages)
                    {
                        foreach (var toolCall in message.ToolCalls ?? [])
                        {
                            output.WriteLine($"  [{++call}] {toolCall.Name} {toolCall.ArgumentsJson}");
                        }

                        if (message.Role == ChatRole.Tool)
                        {
                            var lines = message.Content.ReplaceLineEndings("\n").Split('\n');
                            output.WriteLine($"      => {lines[0]}");
                            foreach (var line in lines.Skip(1))
                            {
                                output.WriteLine(line.Length == 0 ? string.Empty : "         " + line);
                            }
                        }
                    }

                    output.WriteLine($"--- demonstration ({parse.GetValue(template)} template)");
                    output.WriteLine(sample.Rendering);
                    output.WriteLine();
                }

                return 0;
            }, ct);
        });
        return command;
    }

    private static readonly string[] SplitNames = ["train", "eval"];

    private const string TaskOptionsPrefix = "taskOptions.";

    private static Dictionary<string, string> ParseOptions(IEnumerable<string> pairs)
    {
        var options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"--set expects key=value, got '{pair}'.");
            }

            // The same spelling as train's --set taskOptions.maxOperations=3 is accepted too.
            var key = pair[..equals].Trim();
            key = key.StartsWith(TaskOptionsPrefix, StringComparison.OrdinalIgnoreCase) ? key[TaskOptionsPrefix.Length..] : key;
            options[key] = pair[(equals + 1)..];
        }

        return options;
    }
}
