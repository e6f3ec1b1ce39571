namespace AgentRl.Tools.Catalog;

/// <summary>
/// Stable names for <see cref="AgentRl.Abstractions.Tools.ToolObservation.ErrorKind"/> (metric labels
/// <c>tools/errors/{kind}</c>). Every failed call maps to exactly one of these.
/// </summary>
public static class ToolErrorKinds
{
    /// <summary>The call's JSON (the whole block or its arguments) does not parse, or the arguments are not an object.</summary>
    public const string BadJson = "bad_json";

    /// <summary>No tool of that name exists in the catalog (or the name is missing).</summary>
    public const string UnknownTool = "unknown_tool";

    /// <summary>The tool exists but the task does not list it in its allow-list.</summary>
    public const string NotAllowed = "not_allowed";

    /// <summary>A required argument is missing, an argument has the wrong type, or an argument is not declared.</summary>
    public const string BadArguments = "bad_arguments";

    /// <summary>The tool threw: its message is shown to the model.</summary>
    public const string ToolException = "tool_exception";

    /// <summary>The call ran past its wall-clock timeout and was stopped.</summary>
    public const string Timeout = "timeout";

    /// <summary>A sandboxed process hit a resource limit (CPU seconds, memory, file size, processes) and was killed.</summary>
    public const string ResourceLimit = "resource_limit";

    /// <summary>
    /// Not a failure: the output was longer than the cap and was cut, with a visible marker. Set on observations
    /// whose <c>IsError</c> is false so that metrics can count truncations.
    /// </summary>
    public const string OutputTruncated = "output_truncated";
}

/// <summary>
/// Thrown by a tool to report a failure with a specific <see cref="ToolErrorKinds"/> kind (e.g. a sandbox timeout);
/// the executor turns it into an error observation carrying <see cref="ErrorKind"/> and the message.
/// </summary>
public sealed class ToolErrorException(string errorKind, string message) : Exception(message)
{
    public string ErrorKind { get; } = errorKind;
}
