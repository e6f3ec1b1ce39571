namespace AgentRl.Abstractions.Training;

/// <summary>
/// A generator needs a policy version the registry does not (or no longer) list — e.g. the registry's silo was lost and it
/// came back empty. The run redoes its step from the last checkpoint, which republishes the trainer's weights.
/// </summary>
[GenerateSerializer, Alias("agentrl.policy-version-not-published.v1")]
public sealed class PolicyVersionNotPublishedException : Exception
{
    public PolicyVersionNotPublishedException()
    {
    }

    public PolicyVersionNotPublishedException(string message)
        : base(message)
    {
    }

    public PolicyVersionNotPublishedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
