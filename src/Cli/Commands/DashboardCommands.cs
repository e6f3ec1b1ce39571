using System.CommandLine;
using AgentRl.Abstractions.Training;
using AgentRl.Dashboard;

namespace AgentRl.Cli.Commands;

/// <summary>
/// <c>agentrl dashboard [--port P] [--host H] [--run-dir DIR]</c>: the run dashboard (<see cref="RunDashboard"/>) over the
/// command's connection: a remote cluster with <c>--cluster</c>, else an embedded silo over the runs under the run
/// directory (finished ones included). It serves until Ctrl-C.
/// </summary>
public static class DashboardCommands
{
    public static Command Create(CliContext context)
    {
        var port = new Option<int>("--port") { Description = "Port of the page (0 = any free port).", DefaultValueFactory = _ => new RunDashboardOptions().Port };
        var host = new Option<string>("--host") { Description = "Address to listen on (default 127.0.0.1: this machine only).", DefaultValueFactory = _ => new RunDashboardOptions().Host };
        var runDir = new Option<string>("--run-dir") { Description = "Folder of run artifacts, as the silos see it.", DefaultValueFactory = _ => new RunConfig().RunDir };
        var command = new Command("dashboard", "A local web page of the runs: live state, curves, trajectories and rollout trees.") { port, host, runDir };
        command.SetAction((parse, ct) => context.RunAsync(parse, async (connection, output) =>
        {
            await using var dashboard = await RunDashboard.StartAsync(connection.Api, new RunDashboardOptions { Port = parse.GetValue(port), Host = parse.GetValue(host)!, RunDir = parse.GetValue(runDir)! }, ct);
            context.Signals.Stopping = () => "stopping the dashboard";
            output.WriteLine($"agentrl dashboard: {dashboard.Url} (runs under {parse.GetValue(runDir)}; Ctrl-C stops)");
            output.Flush();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl-C: the page stops answering; nothing to keep.
            }

            return 0;
        }, ct));
        return command;
    }
}
