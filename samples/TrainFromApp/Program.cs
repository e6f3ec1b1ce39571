using System.Globalization;
using AgentRl.Abstractions.Training;
using AgentRl.Client.Embedded;
using AgentRl.Samples.CustomTask;

// Train the sample's own task and tool from this app, on a silo hosted in it. Arguments: [steps] [demonstrations].
var steps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20;
var demonstrations = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2048;

// The two configuration lines: the tool plugin and the task plug-in (in appsettings.json they are the same keys).
var options = new EmbeddedAgentRlOptions();
options.Configuration["AgentRl:Tools:Plugins:inventory:Type"] = typeof(InventoryPlugin).AssemblyQualifiedName;
options.Configuration["AgentRl:Tasks:Plugins:restock:Type"] = typeof(RestockTask).AssemblyQualifiedName;
await using var client = await EmbeddedAgentRl.StartAsync(options);

var run = new RunConfig
{
    RunId = $"restock-{DateTime.UtcNow:yyyyMMdd-HHmmss}",
    Task = RestockTask.TaskName,
    Steps = steps,
    SftDemonstrations = demonstrations,
    SftFlawPhaseDemonstrations = 0,
    EvalSize = 32,
};
await client.StartRunAsync(run);
var shown = "";
await foreach (var status in client.FollowAsync(run.RunId))
{
    var line = $"{status.State} step {status.Step}/{status.Steps} eval {status.FinalEvalAccuracy?.ToString("P1", CultureInfo.InvariantCulture) ?? "-"}";
    if (line != shown)
    {
        Console.WriteLine(shown = line);
    }

    if (status.IsFinished)
    {
        Console.WriteLine(status.State == RunState.Completed
            ? $"{run.RunId}: {status.State}; held-out accuracy {status.WarmStartEvalAccuracy:P1} after the warm start, {status.FinalEvalAccuracy:P1} at the end"
            : $"{run.RunId}: {status.State}: {status.Error}");
        return status.State == RunState.Completed ? 0 : 1;
    }
}

return 1;
