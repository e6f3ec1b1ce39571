using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Tasks;
using AgentRl.Abstractions.Tools;
using AgentRl.Abstractions.Training;

namespace AgentRl.Cli.Commands;

/// <summary><c>agentrl tools …</c>: the cluster's tool catalog, and one call in the sandbox grain training uses.</summary>
public static class ToolCommands
{
    /// <summary>Exit code of <c>tools call</c> when the tool answered with an error observation.</summary>
    public const int ToolErrorExitCode = 4;

    public static Command Create(CliContext context)
    {
        var tools = new Command("tools", "List the tool catalog and try tools in a sandbox.");
        tools.Subcommands.Add(List(context));
        tools.Subcommands.Add(Call(context));
        return tools;
    }

    private static Command List(CliContext context)
    {
        var json = new Option<bool>("--json") { Description = "Print JSON (name, description, schema) instead of text." };
        var command = new Command("list", "List every tool of the catalog: name, description and JSON schema of its arguments.") { json };
        command.SetAction((parse, ct) => context.RunAsync(parse, async (connection, output) =>
        {
            var catalog = await connection.Client.GetGrain<IToolCatalogGrain>(0).GetToolsAsync(ct);
            if (parse.GetValue(json))
            {
                var rows = catalog.Select(t => new
                {
                    t.Spec.Name,
                    t.Spec.Description,
                    Parameters = JsonDocument.Parse(t.Spec.ParametersSchemaJson).RootElement,
                    t.NeedsKnowledgeBase,
                });
                output.WriteLine(JsonSerializer.Serialize(rows, CliContext.JsonOptions));
                return 0;
            }

            foreach (var tool in catalog)
            {
                output.WriteLine(tool.Spec.Name + (tool.NeedsKnowledgeBase ? "  (needs a task's knowledge base: --task)" : string.Empty));
                output.WriteLine($"  {tool.Spec.Description}");
                output.WriteLine($"  parameters: {CliContext.Readable(tool.Spec.ParametersSchemaJson)}");
                output.WriteLine();
            }

            return 0;
        }, ct));
        return command;
    }

    private static Command Call(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "Tool name, e.g. calculator-evaluate (see tools list)." };
        var arguments = new Argument<string>("arguments") { Description = "The arguments as a JSON object, e.g. '{\"expression\":\"(2+3)*7\"}'." };
        var task = new Option<string?>("--task") { Description = "Open the sandbox for an item of this task (its allowed tools and knowledge base). Default: no task, every tool that needs none." };
        var itemSeed = new Option<int>("--item-seed") { Description = "Seed of the generated train item used with --task.", DefaultValueFactory = _ => 0 };
        var timeout = new Option<double>("--timeout") { Description = "Call timeout in seconds, as in training (RolloutLimits.ToolTimeoutSeconds).", DefaultValueFactory = _ => 10 };
        var command = new Command("call", "Run one tool call in a sandbox grain on the cluster and print the observation and its duration.")
        {
            name, arguments, task, itemSeed, timeout,
        };
        command.SetAction(async (parse, ct) =>
        {
            var toolName = parse.GetValue(name)!;
            var seconds = parse.GetValue(timeout);
            if (!(seconds > 0 && seconds <= RunConfig.MaxToolTimeoutSeconds))
            {
                await Console.Error.WriteLineAsync($"agentrl: --timeout = {seconds.ToString(CultureInfo.InvariantCulture)} is outside the allowed range (0, {RunConfig.MaxToolTimeoutSeconds.ToString(CultureInfo.InvariantCulture)}] s.");
                return 2;
            }

            var taskName = parse.GetValue(task);
            return await context.RunAsync(parse, async (connection, output) =>
            {
                // The item comes from the cluster's task catalog, so a silo's plug-in task serves its tools too.
                var itemJson = string.Empty;
                if (taskName is not null)
                {
                    try
                    {
                        itemJson = (await connection.Client.GetGrain<ITaskCatalogGrain>(0).GetItemsAsync(taskName, null, eval: false, 1, parse.GetValue(itemSeed), ct))[0];
                    }
                    catch (ArgumentException e)
                    {
                        await Console.Error.WriteLineAsync($"agentrl: {CliContext.Message(e)}");
                        return 2;
                    }

                    // The item as the catalog's JSON line writes it: {"id","task","prompt","documents":[…],…}.
                    using var item = JsonDocument.Parse(itemJson);
                    string Field(string name) => item.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";
                    var documents = item.RootElement.TryGetProperty("documents", out var docs) && docs.ValueKind == JsonValueKind.Array ? docs.GetArrayLength() : 0;
                    taskName = Field("task");
                    await Console.Error.WriteLineAsync($"task {taskName}, item {Field("id")} ({documents} documents): {Field("prompt")}");
                }

                var catalog = await connection.Client.GetGrain<IToolCatalogGrain>(0).GetToolsAsync(ct);
                if (taskName is null && catalog.FirstOrDefault(t => t.Spec.Name == toolName) is { NeedsKnowledgeBase: true })
                {
                    await Console.Error.WriteLineAsync($"agentrl: {toolName} searches a task's knowledge base; give a task, e.g. --task kb-multihop [--item-seed N].");
                    return 2;
                }

                var sandbox = connection.Client.GetGrain<IToolSandboxGrain>($"cli/{Guid.NewGuid():N}");
                ToolObservation observation;
                try
                {
                    await sandbox.OpenAsync(new SandboxSpec(taskName ?? string.Empty, itemJson, MaxToolCalls: 1, CallTimeoutSeconds: seconds), [], ct);
                    // Ctrl-C abandons the call at once; closing the sandbox then kills its process.
                    context.Signals.Stopping = () => $"interrupting the {toolName} call";
                    observation = await sandbox.InvokeAsync(new ToolCall(toolName, parse.GetValue(arguments)!), ct).WaitAsync(ct);
                }
                finally
                {
                    await sandbox.CloseAsync(CancellationToken.None);
                }

                var duration = $"{observation.LatencyMs.ToString("0", CultureInfo.InvariantCulture)} ms";
                if (observation.IsError)
                {
                    await Console.Error.WriteLineAsync($"agentrl: {toolName} failed ({observation.ErrorKind}) after {duration}:");
                    await Console.Error.WriteLineAsync(observation.Text);
                    return ToolErrorExitCode;
                }

                output.WriteLine(observation.Text);
                await Console.Error.WriteLineAsync($"{toolName}: ok in {duration}" + (observation.ErrorKind is { } kind ? $" ({kind})" : string.Empty));
                return 0;
            }, ct);
        });
        return command;
    }
}
