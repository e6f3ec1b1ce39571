namespace AgentRl.Abstractions.Configuration;

/// <summary>The configuration problems found before a silo starts (a silo program exits 2 with them; an embedded host throws it).</summary>
public sealed class SiloConfigurationException(IReadOnlyList<string> problems)
    : Exception("Invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}
