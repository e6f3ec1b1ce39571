namespace AgentRl.Abstractions.Training;

/// <summary>Timing of progress subscriptions.</summary>
public static class RunProgress
{
    /// <summary>A subscription lapses this long after its last (re)subscription (silo option <c>AgentRl:Silo:ProgressSubscriptionLifetime</c>).</summary>
    public static readonly TimeSpan SubscriptionLifetime = TimeSpan.FromSeconds(60);

    /// <summary>How often a client renews its subscription: a third of the lifetime, so one lost renewal does not end it.</summary>
    public static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(20);
}
