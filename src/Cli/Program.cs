using System.CommandLine;
using AgentRl.Cli.Commands;

// agentrl: drive AgentRl from the command line. With no --cluster the commands run on an embedded silo.
using var signals = CliSignals.Register(Console.Error);
var context = new CliContext { Signals = signals };
var root = new RootCommand("AgentRl: reinforcement learning for tool-using LLM agents on Orleans.")
{
    context.Cluster,
    context.ClusterId,
    context.Verbose,
    ClusterCommands.Create(context),
    ModelCommands.Create(context),
    TrainCommands.Create(context),
    TrainCommands.CreateSft(context),
    CompareCommands.Create(context),
    SwarmCommands.Create(context),
    SwarmCommands.CreatePool(context),
    RunsCommands.Create(context),
    EvalCommands.Create(context),
    ToolCommands.Create(context),
    TaskCommands.Create(context),
    DashboardCommands.Create(context),
};

// Usage errors (unknown options, bad values) exit with 2, as the commands' own argument checks do. Ctrl-C and SIGTERM
// are CliSignals' (the parser's own handling would give a command two seconds and then end it mid-write).
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    return CliUsage.WriteErrors(parsed, Console.Error);
}

// The parser writes only help and version text to Output (the commands write to the console themselves).
using var help = new StringWriter();
var exitCode = await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, Output = help }, signals.Token);
Console.Out.Write(CliUsage.Help(root, help.ToString()));
return signals.Interrupted && exitCode == 0 ? CliSignals.InterruptedExitCode : exitCode;
