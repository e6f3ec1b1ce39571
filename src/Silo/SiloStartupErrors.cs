namespace AgentRl.Silo;

/// <summary>Turns start-up failures into one line a person can act on.</summary>
public static class SiloStartupErrors
{
    public static string Describe(Exception exception)
    {
        var root = exception;
        while (root.InnerException is not null && root is AggregateException or System.Reflection.TargetInvocationException)
        {
            root = root.InnerException;
        }

        var text = root.ToString();
        var kind = root.GetType().Name;
        if (kind.Contains("RedisConnection", StringComparison.Ordinal) || text.Contains("StackExchange.Redis", StringComparison.Ordinal))
        {
            // StackExchange.Redis' own text ends with advice about its connection string (abortConnect) that is not the user's to act on.
            var reason = root.Message.Split(Environment.NewLine)[0].Split(" To allow this multiplexer", 2)[0].Trim();
            return $"cannot reach Redis — is it running? ({reason} Check --redis or AgentRl:Cluster:Redis.)";
        }

        if (root is System.Net.Sockets.SocketException socket)
        {
            return $"network error ({socket.SocketErrorCode}): {root.Message}. Is the silo or gateway port already in use?";
        }

        return $"{kind}: {root.Message}";
    }
}
