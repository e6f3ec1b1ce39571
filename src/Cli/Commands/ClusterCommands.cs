using System.CommandLine;
using System.Text.Json;
using AgentRl.Abstractions.Cluster;

namespace AgentRl.Cli.Commands;

/// <summary><c>agentrl cluster status</c>: the silos of the cluster, their status and metadata.</summary>
public static class ClusterCommands
{
    public static Command Create(CliContext context)
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var status = new Command("status", "List the silos of the cluster with their status and metadata.") { json };
        status.SetAction((parse, ct) => context.RunAsync(parse, async (connection, output) =>
        {
            var silos = await connection.Client.GetGrain<IClusterInfoGrain>(0).GetSilosAsync(ct);
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(silos, CliContext.JsonOptions));
            }
            else
            {
                output.WriteLine($"cluster: {connection.Target}");
                foreach (var silo in silos)
                {
                    static bool IsCompute(string key) => key == SiloMetadataKeys.Compute || key.StartsWith(SiloMetadataKeys.Compute + ".", StringComparison.Ordinal);
                    var metadata = string.Join(' ', silo.Metadata.Where(kv => !IsCompute(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));
                    output.WriteLine($"{silo.Address,-28} {silo.Status,-12} {silo.Name,-20} {metadata}");
                    // Where each policy computes: the defaults, then each policy the silo's configuration names.
                    foreach (var (key, value) in silo.Metadata.Where(kv => IsCompute(kv.Key)).OrderBy(kv => kv.Key == SiloMetadataKeys.Compute ? "" : kv.Key, StringComparer.Ordinal))
                    {
                        var policy = key == SiloMetadataKeys.Compute ? "(default)" : key[(SiloMetadataKeys.Compute.Length + 1)..];
                        output.WriteLine($"{"",-28} compute  {policy,-20} {value}");
                    }
                }
            }

            return 0;
        }, ct));
        return new Command("cluster", "Inspect the cluster.") { status };
    }
}
