namespace AgentRl.Abstractions.Rollouts;

/// <summary>Why a trajectory (or one generation call) ended.</summary>
public enum FinishReason
{
    /// <summary>The model ended its answer (end-of-turn or EOS).</summary>
    Eos,

    /// <summary>A stop token or stop string (e.g. a tool-call close tag) ended the generation call.</summary>
    Stop,

    /// <summary>The per-call new-token budget ran out.</summary>
    Length,

    /// <summary>The whole trajectory would exceed the context budget.</summary>
    ContextBudget,

    /// <summary>The maximum number of turns (model → tool → model) was reached.</summary>
    MaxTurns,

    /// <summary>The per-episode tool-call limit was reached.</summary>
    ToolCallLimit,

    /// <summary>The call was cancelled (run stopped, silo shutting down).</summary>
    Cancelled,

    /// <summary>An infrastructure error ended the trajectory; see the error text.</summary>
    Error,
}
