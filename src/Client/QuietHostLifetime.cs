using Microsoft.Extensions.Hosting;

namespace AgentRl.Client;

/// <summary>
/// The host lifetime of a client or an embedded silo: no signal handling of its own. The default console lifetime answers
/// Ctrl-C and SIGTERM by stopping the host (with an embedded silo, the silo under a run it is asked to stop gracefully);
/// with this one the app decides what a signal does, and disposes the host when it is done.
/// </summary>
public sealed class QuietHostLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
