using Microsoft.Extensions.Hosting;

namespace AgentRl.Client.Connection;

/// <summary>
/// The host lifetime of a command: no signal handling of its own. The default console lifetime answers Ctrl-C and SIGTERM
/// by stopping the host — with an embedded silo, the silo under the run it is asked to stop gracefully — so the command
/// (<see cref="Commands.CliSignals"/>) decides what a signal does, and disposes the host when it is done.
/// </summary>
internal sealed class CommandLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
