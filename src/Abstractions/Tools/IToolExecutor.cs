using AgentRl.Abstractions.Chat;

namespace AgentRl.Abstractions.Tools;

/// <summary>Runs tool calls. The tool catalog implements it; the sandbox grain fronts it per rollout branch.</summary>
public interface IToolExecutor
{
    /// <summary>The tools this executor offers, as the chat template renders them.</summary>
    IReadOnlyList<ToolSpec> Tools { get; }

    /// <summary>Runs one call; never throws for a bad call — failures come back as error observations.</summary>
    Task<ToolObservation> ExecuteAsync(ToolCall call, CancellationToken cancellationToken = default);
}
