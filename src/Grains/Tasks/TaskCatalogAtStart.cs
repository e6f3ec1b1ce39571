using Microsoft.Extensions.DependencyInjection;

namespace AgentRl.Grains.Tasks;

/// <summary>
/// Builds the silo's <see cref="TaskCatalog"/> (and with it the tool catalog) while the silo starts, so that a bad task
/// plug-in stops the start with its reason instead of failing the first grain that needs a task.
/// </summary>
internal sealed class TaskCatalogAtStart(IServiceProvider services) : ILifecycleParticipant<ISiloLifecycle>
{
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(TaskCatalogAtStart), ServiceLifecycleStage.RuntimeInitialize, _ =>
        {
            services.GetRequiredService<TaskCatalog>();
            return Task.CompletedTask;
        });
}
