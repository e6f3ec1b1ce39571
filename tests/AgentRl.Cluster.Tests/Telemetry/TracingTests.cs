using System.Collections.Concurrent;
using System.Diagnostics;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Rollouts;
using AgentRl.Abstractions.Tools;
using AgentRl.Abstractions.Training;
using AgentRl.Cluster.Tests.Infrastructure;
using AgentRl.Grains.Telemetry;
using AgentRl.Silo.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace AgentRl.Cluster.Tests.Telemetry;

/// <summary>
/// Spans exported by silos with <c>AddAgentRlTelemetry</c> (an in-memory exporter added to each silo's tracer provider),
/// and that a silo with no exporter configured registers no OpenTelemetry provider.
/// </summary>
public sealed class TracingTests : IDisposable
{
    private readonly string _runDir = Path.Combine(Path.GetTempPath(), "agentrl-traces-" + Guid.NewGuid().ToString("N"));

    /// <summary>One list per silo: each silo's provider exports every span of the process, from its own processor thread.</summary>
    private readonly ConcurrentBag<LockedList> _exported = [];

    [Fact]
    public async Task SpansOfOneStep_NestUnderTheStep_AcrossGrainCallsAndSilos()
    {
        await using var cluster = await StartTracedClusterAsync();
        var run = cluster.Client.GetGrain<ITrainingRunGrain>("traced");

        await run.StartAsync(Toy(steps: 1));
        var end = await RunWaits.UntilAsync(run, s => s.IsFinished, minutes: 4);

        Assert.True(end.State == RunState.Completed, $"{end.State}: {end.Error}");
        var spans = Spans();
        var byId = spans.ToDictionary(s => s.SpanId);
        var step = Assert.Single(spans, s => s.OperationName == AgentRlTelemetry.StepSpan && Tag(s, AgentRlTelemetry.RunIdTag) == "traced");
        Assert.Equal(default(ActivitySpanId), step.ParentSpanId);   // the root of its own trace, not hung under the StartAsync call
        Assert.Equal("1", Tag(step, AgentRlTelemetry.StepTag));
        Assert.NotNull(Tag(step, AgentRlTelemetry.PolicyVersionTag));
        var trace = spans.Where(s => s.TraceId == step.TraceId).ToList();

        // Each phase is a child of the step.
        foreach (var phase in new[] { "Rollout", "Reward", "Advantage", "Update", "PublishWeights", "Checkpoint" })
        {
            var span = Assert.Single(trace, s => s.OperationName == AgentRlTelemetry.PhaseSpanPrefix + phase);
            Assert.Equal(step.SpanId, span.ParentSpanId);
        }

        // Episodes (on both silos), their branches and generation calls nest under the Rollout phase through Orleans'
        // client and server spans of each grain call; the trainer's update nests under the Update phase.
        var rollout = trace.Single(s => s.OperationName == AgentRlTelemetry.PhaseSpanPrefix + "Rollout");
        var episodes = trace.Where(s => s.OperationName == AgentRlTelemetry.EpisodeSpan && Ancestors(s, byId).Contains(rollout)).ToList();
        Assert.Equal(2, episodes.Count);   // the Evaluate phase after the last step has episodes of its own
        Assert.All(episodes, e =>
        {
            Assert.Equal("traced", Tag(e, AgentRlTelemetry.RunIdTag));
            Assert.Equal("1", Tag(e, AgentRlTelemetry.StepTag));
            var parent = byId[e.ParentSpanId];
            Assert.Equal("Microsoft.Orleans.Application", parent.Source.Name);   // Orleans' own server span of the call
            Assert.Equal(ActivityKind.Server, parent.Kind);
        });
        var branches = trace.Where(s => s.OperationName == AgentRlTelemetry.BranchSpan && Ancestors(s, byId).Intersect(episodes).Any()).ToList();
        Assert.Equal(4, branches.Count);   // 2 prompts × a group of 2
        var generations = trace.Where(s => s.OperationName == AgentRlTelemetry.GenerateSpan && Ancestors(s, byId).Intersect(branches).Any()).ToList();
        Assert.True(generations.Count >= branches.Count, $"{generations.Count} generation spans under {branches.Count} branches");
        var update = trace.Single(s => s.OperationName == AgentRlTelemetry.PhaseSpanPrefix + "Update");
        var trainer = Assert.Single(trace, s => s.OperationName == AgentRlTelemetry.TrainerUpdateSpan);
        Assert.Contains(update, Ancestors(trainer, byId));
        Assert.Equal("traced", Tag(trainer, AgentRlTelemetry.RunIdTag));
    }

    [Fact]
    public async Task ToolCall_InASandboxGrain_IsASpanUnderTheCallersSpan()
    {
        await using var cluster = await StartTracedClusterAsync(client => client.AddActivityPropagation());
        var sandbox = cluster.Client.GetGrain<IToolSandboxGrain>("tooltrace/1/0/0");
        await sandbox.OpenAsync(new SandboxSpec(string.Empty, string.Empty, MaxToolCalls: 2, CallTimeoutSeconds: 10), []);
        Activity? caller;
        ToolObservation observation;
        using (caller = AgentRlTelemetry.Source.StartActivity("test.caller"))
        {
            observation = await sandbox.InvokeAsync(new ToolCall("calculator-evaluate", """{"expression": "6 * 7"}"""));
        }

        await sandbox.CloseAsync();

        Assert.NotNull(caller);
        Assert.False(observation.IsError, observation.Text);
        var spans = Spans();
        var byId = spans.ToDictionary(s => s.SpanId);
        var tool = Assert.Single(spans, s => s.OperationName == AgentRlTelemetry.ToolCallSpan && Tag(s, AgentRlTelemetry.RunIdTag) == "tooltrace");
        Assert.Equal("calculator-evaluate", Tag(tool, AgentRlTelemetry.ToolTag));
        Assert.Equal(caller.TraceId, tool.TraceId);
        Assert.Contains(Ancestors(tool, byId), a => a.SpanId == caller.SpanId);
    }

    [Fact]
    public void NoExporterConfigured_RegistersNoProviderAndNoTracingFilter()
    {
        static IServiceCollection Services(AgentRlTelemetryOptions options)
        {
            var host = Host.CreateApplicationBuilder();
            host.UseOrleans(silo => silo.AddAgentRlTelemetry(options));
            return host.Services;
        }

        static bool HasProvider(IServiceCollection services) =>
            services.Any(d => d.ServiceType == typeof(TracerProvider) || d.ServiceType == typeof(MeterProvider));

        var off = Services(new AgentRlTelemetryOptions());
        var console = Services(new AgentRlTelemetryOptions { Console = true });

        Assert.False(HasProvider(off));
        Assert.True(HasProvider(console));
        Assert.True(console.Count(d => d.ServiceType == typeof(IIncomingGrainCallFilter)) > off.Count(d => d.ServiceType == typeof(IIncomingGrainCallFilter)));
    }

    public void Dispose()
    {
        if (Directory.Exists(_runDir))
        {
            Directory.Delete(_runDir, recursive: true);
        }
    }

    private Task<AgentRlTestCluster> StartTracedClusterAsync(Action<IClientBuilder>? configureClient = null) =>
        AgentRlTestCluster.StartAsync(
            2,
            (index, o) => o.Roles = index == 0 ? "rollout,tools,trainer" : "rollout,tools",
            configureBuilder: silo =>
            {
                var exported = new LockedList();
                _exported.Add(exported);
                silo.AddAgentRlTelemetry(new AgentRlTelemetryOptions(), tracing: t => t.AddInMemoryExporter(exported));
            },
            configureClient: configureClient);

    /// <summary>Every span exported, once (each silo's provider exports each span of the process).</summary>
    private List<Activity> Spans() =>
        [.. _exported.SelectMany(list => list.Snapshot()).DistinctBy(s => s.SpanId)];

    private static IEnumerable<Activity> Ancestors(Activity span, Dictionary<ActivitySpanId, Activity> byId)
    {
        for (var id = span.ParentSpanId; byId.TryGetValue(id, out var parent); id = parent.ParentSpanId)
        {
            yield return parent;
        }
    }

    private static string? Tag(Activity span, string key) => span.GetTagItem(key)?.ToString();

    private RunConfig Toy(int steps) => ToyRuns.Config(_runDir, steps);

    /// <summary>The exporter's collection: written by a provider's processor while the test reads it.</summary>
    private sealed class LockedList : ICollection<Activity>
    {
        private readonly List<Activity> _items = [];

        public int Count
        {
            get
            {
                lock (_items)
                {
                    return _items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public List<Activity> Snapshot()
        {
            lock (_items)
            {
                return [.. _items];
            }
        }

        public void Add(Activity item)
        {
            lock (_items)
            {
                _items.Add(item);
            }
        }

        public void Clear()
        {
            lock (_items)
            {
                _items.Clear();
            }
        }

        public bool Contains(Activity item) => Snapshot().Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);

        public bool Remove(Activity item)
        {
            lock (_items)
            {
                return _items.Remove(item);
            }
        }

        public IEnumerator<Activity> GetEnumerator() => Snapshot().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
