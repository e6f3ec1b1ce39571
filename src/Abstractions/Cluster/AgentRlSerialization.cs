using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace AgentRl.Abstractions.Cluster;

/// <summary>Serialization settings that silos and clients of an AgentRl cluster share.</summary>
public static class AgentRlSerialization
{
    /// <summary>The namespace prefix of AgentRl's own exception types.</summary>
    public const string ExceptionNamespacePrefix = "AgentRl.";

    /// <summary>
    /// Lets Orleans carry AgentRl's exceptions (a <c>CheckpointStoreException</c> from a trainer on another silo, say) in grain
    /// call responses, with their type, message and inner exceptions. Orleans serializes only exceptions of the namespaces
    /// it is told of (System and Microsoft by default); any other one thrown by a grain on another silo fails the response
    /// itself with "Could not find a codec", so the caller can no longer tell a storage outage from a bug (found by
    /// <c>ChaosTests</c>: a run then failed on a blob outage it would have waited out).
    /// </summary>
    public static IServiceCollection AddAgentRlExceptions(this IServiceCollection services) =>
        services.Configure<ExceptionSerializationOptions>(o =>
        {
            if (!o.SupportedNamespacePrefixes.Contains(ExceptionNamespacePrefix))
            {
                o.SupportedNamespacePrefixes.Add(ExceptionNamespacePrefix);
            }
        });
}
