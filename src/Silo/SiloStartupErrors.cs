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
            return $"cannot reach the Redis cluster store ({root.Message.Split(Environment.NewLine)[0]}). Check AgentRl:Cluster:Redis / --redis and that Redis is running.";
        }

        if (root is System.Net.Sockets.SocketException socket)
        {
            return $"network error ({socket.SocketErrorCode}): {root.Message}. Is the silo or gateway port already in use?";
        }

        return $"{kind}: {root.Message}";
    }
}
