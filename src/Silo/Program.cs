using AgentRl.Abstractions.Configuration;
using AgentRl.Silo;
using Microsoft.Extensions.Hosting;

// An AgentRl silo: configuration from appsettings.json, the environment and the command line (see README).
// Exit codes: 0 after a clean shutdown (SIGTERM / Ctrl+C), 2 for invalid configuration, 3 when the silo cannot start.
try
{
    using var host = AgentRlSiloHost.CreateBuilder(args).Build();
    await host.RunAsync();
    return 0;
}
catch (SiloConfigurationException e)
{
    Console.Error.WriteLine($"agentrl-silo: {e.Message}");
    return 2;
}
catch (Exception e)
{
    Console.Error.WriteLine($"agentrl-silo: the silo could not start: {SiloStartupErrors.Describe(e)}");
    return 3;
}
