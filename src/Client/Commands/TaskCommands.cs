using System.CommandLine;
using System.Text.Json;
using AgentRl.Abstractions.Chat;
using AgentRl.Policy.Chat;
using AgentRl.Policy.Tokenization;
using AgentRl.Tasks;
using AgentRl.Tools.Catalog;

namespace AgentRl.Client.Commands;

/// <summary>
/// <c>agentrl tasks …</c>: the bundled tasks, and sample items with gold demonstrations. Runs in this process (tasks and
/// tools are plain classes): demonstrations call the real tool catalog, python-run included (in its process sandbox).
/// </summary>
public static class TaskCommands
{
    public static Command Create()
    {
        var tasks = new Command("tasks", "List the bundled tasks and show sample items (no cluster needed).");
        tasks.Subcommands.Add(List());
        tasks.Subcommands.Add(Sample());
        return tasks;
    }

    private static Command List()
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text." };
        var command = new Command("list", "List the tasks: name, description, allowed tools and option defaults.") { json };
        command.SetAction(parse =>
        {
            var infos = TaskRegistry.CreateDefault().List();
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(infos, CliContext.JsonOptions));
                return 0;
            }

            foreach (var info in infos)
            {
                Console.WriteLine(info.Name);
                Console.WriteLine($"  {info.Description}");
                Console.WriteLine($"  tools: {string.Join(", ", info.AllowedTools)}");
                Console.WriteLine($"  options: {string.Join(", ", info.OptionDefaults.Select(kv => $"{kv.Key}={kv.Value}"))}");
                Console.WriteLine();
            }

            return 0;
        });
        return command;
    }

    private static Command Sample()
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
        var template = new Option<string>("--template") { Description = "Chat template: compact or qwen2.5 (rendered as text).", DefaultValueFactory = _ => ChatTemplates.Compact };
        template.AcceptOnlyFromAmong([.. ChatTemplates.Names]);
        var set = new Option<string[]>("--set") { Description = "A task option, key=value (repeatable; see tasks list).", AllowMultipleArgumentsPerToken = false };
        var command = new Command("sample", "Print items of a task: prompt, answer, and a gold demonstration built with the real tools, rendered with a chat template.")
        {
            name, count, seed, split, template, set,
        };
        command.SetAction(async (parse, ct) =>
        {
            IAgentTask task;
            IChatTemplate chat;
            try
            {
                if (parse.GetValue(count) < 1)
                {
                    throw new ArgumentException($"--n must be at least 1, got {parse.GetValue(count)}.");
                }

                task = TaskRegistry.CreateDefault().Create(parse.GetValue(name)!, ParseOptions(parse.GetValue(set) ?? []));
                chat = ChatTemplates.Create(parse.GetValue(template)!, new ByteLevelTokenizer());
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync($"agentrl: {CliContext.Message(e)}");
                return 2;
            }

            var catalog = new ToolCatalog(new ToolCatalogOptions());
            var items = task.Generate(string.Equals(parse.GetValue(split), "eval", StringComparison.OrdinalIgnoreCase) ? TaskSplit.Eval : TaskSplit.Train, parse.GetValue(count), parse.GetValue(seed));
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                var context = task.GetToolContext(item);
                using var session = catalog.OpenSession(context.AllowedTools, new ToolSessionContext
                {
                    KnowledgeBase = context.Documents.Count > 0 ? context.Documents : null,
                });
                var demonstration = await task.BuildDemonstrationAsync(item, session, cancellationToken: ct);

                Console.WriteLine($"=== {task.Name} {i + 1}/{items.Count}: item {item.Id} ({item.Split.ToString().ToLowerInvariant()}, {item.Documents.Count} documents)");
                Console.WriteLine($"prompt: {item.Prompt}");
                Console.WriteLine($"answer: {item.Answer}");
                Console.WriteLine($"tool calls{(demonstration.ToolResultsAgree ? string.Empty : " (the observations do not support the answer)")}:");
                var call = 0;
                foreach (var message in demonstration.Messages)
                {
                    foreach (var toolCall in message.ToolCalls ?? [])
                    {
                        Console.WriteLine($"  [{++call}] {toolCall.Name} {toolCall.ArgumentsJson}");
                    }

                    if (message.Role == ChatRole.Tool)
                    {
                        var lines = message.Content.ReplaceLineEndings("\n").Split('\n');
                        Console.WriteLine($"      => {lines[0]}");
                        foreach (var line in lines.Skip(1))
                        {
                            Console.WriteLine(line.Length == 0 ? string.Empty : "         " + line);
                        }
                    }
                }

                Console.WriteLine($"--- demonstration ({parse.GetValue(template)} template)");
                Console.WriteLine(chat.Render(demonstration.Messages, session.Tools, false));
                Console.WriteLine();
            }

            return 0;
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
