using System.CommandLine;
using AgentRl.Client.Commands;

// agentrl: drive AgentRl from the command line. With no --cluster the commands run on an embedded silo.
var context = new CliContext();
var root = new RootCommand("AgentRl: reinforcement learning for tool-using LLM agents on Orleans.")
{
    context.Cluster,
    context.ClusterId,
    context.Verbose,
    ClusterCommands.Create(context),
    ModelCommands.Create(),
};
return await root.Parse(args).InvokeAsync();
