using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentRl.Client;

/// <summary>The logging of a client host: Orleans' and AgentRl's logs at one level, on stderr (stdout stays the app's).</summary>
public static class ClientLogging
{
    /// <summary>Sets every category to <paramref name="level"/> (over appsettings.json's Logging section) and logs to stderr.</summary>
    public static void Configure(IHostApplicationBuilder builder, LogLevel level)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var name = level.ToString();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = name,
            ["Logging:LogLevel:Orleans"] = name,
            ["Logging:LogLevel:Microsoft"] = name,
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(level);
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    }
}
