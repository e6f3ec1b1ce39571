namespace AgentRl.Grains.Hosting;

/// <summary>
/// The grain storage AgentRl's durable grains use (the training run, the policy registry). Hosts register a provider of this
/// name — memory on an embedded or test silo, Redis or ADO.NET on a cluster — and a reminder service of the same kind.
/// </summary>
public static class AgentRlStorage
{
    public const string Name = "agentrl";
}
