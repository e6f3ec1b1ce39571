using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Dashboard;

namespace AgentRl.Silo.Telemetry;

/// <summary>
/// Serves the Orleans Dashboard of this silo on its own port. The dashboard package maps its page and JSON endpoints
/// onto an ASP.NET Core app; the silo is a generic host without one, so this starts a small Kestrel app after the silo
/// and hands it the silo's dashboard services (the same instances, so the page shows this silo's cluster).
/// </summary>
internal sealed class DashboardWebServer(IServiceProvider silo, IReadOnlyList<Type> dashboardServices, int port, string listenAddress, ILogger<DashboardWebServer> logger)
    : IHostedService, IAsyncDisposable
{
    /// <summary>The services the dashboard's endpoints take from the request's container.</summary>
    internal static readonly string[] EndpointServiceNames = ["IDashboardClient", "EmbeddedAssetProvider", "DashboardLogger"];

    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var web = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "agentrl-dashboard", ContentRootPath = AppContext.BaseDirectory });
        web.Logging.ClearProviders();
        web.Services.AddSingleton(silo.GetRequiredService<ILoggerFactory>());
        web.Services.AddSingleton(silo.GetRequiredService<IOptions<DashboardOptions>>());
        foreach (var type in dashboardServices.Where(t => EndpointServiceNames.Contains(t.Name)))
        {
            web.Services.AddSingleton(type, silo.GetRequiredService(type));
        }

        web.WebHost.ConfigureKestrel(k =>
        {
            if (listenAddress == "*")
            {
                k.ListenAnyIP(port);
            }
            else
            {
                k.Listen(IPAddress.Parse(listenAddress), port);
            }
        });
        _app = web.Build();
        _app.MapOrleansDashboard();
        await _app.StartAsync(cancellationToken);
        logger.LogInformation("Orleans Dashboard at http://{Address}:{Port}/", listenAddress, port);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
            _app = null;
        }
    }
}

/// <summary>The Orleans Dashboard on a silo (<c>AgentRl:Telemetry:DashboardPort</c>).</summary>
public static class AgentRlDashboardHosting
{
    /// <summary>
    /// Adds the Orleans Dashboard (<c>Microsoft.Orleans.Dashboard</c>: grain statistics of the whole cluster, collected
    /// on every silo that adds it) and serves its page on <paramref name="port"/> of <paramref name="listenAddress"/>
    /// (<c>*</c>: every interface).
    /// </summary>
    public static ISiloBuilder AddAgentRlDashboard(this ISiloBuilder builder, int port, string listenAddress = "127.0.0.1")
    {
        var before = builder.Services.Count;
        builder.AddDashboard();
        var dashboardAssembly = typeof(DashboardOptions).Assembly;
        var dashboardServices = builder.Services.Skip(before).Select(d => d.ServiceType).Where(t => t.Assembly == dashboardAssembly).Distinct().ToList();
        builder.Services.AddHostedService(sp => new DashboardWebServer(sp, dashboardServices, port, listenAddress, sp.GetRequiredService<ILogger<DashboardWebServer>>()));
        return builder;
    }
}
