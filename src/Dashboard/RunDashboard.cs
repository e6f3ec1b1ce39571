using System.Net;
using System.Text.Json;
using AgentRl.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentRl.Dashboard;

/// <summary>Where the dashboard listens and which runs it shows.</summary>
public sealed record RunDashboardOptions
{
    /// <summary>The port (default 5180; 0 = any free port, see <see cref="RunDashboard.Url"/>).</summary>
    public int Port { get; init; } = 5180;

    /// <summary>The address to listen on (default <c>127.0.0.1</c>: this machine only).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The run directory as the silos see it (default that of a run that names none).</summary>
    public string RunDir { get; init; } = AgentRlClient.DefaultRunDir;
}

/// <summary>
/// The run dashboard: a local web app (Kestrel, minimal APIs) over an <see cref="AgentRlClient"/>. It serves one page and
/// its JSON endpoints; every answer comes through the client library, so it works against a remote cluster and over an
/// embedded silo alike. Failures become a JSON <c>{"error": …}</c> with a status code (404 unknown run, 503 the cluster
/// does not answer), never a crash.
/// <list type="bullet">
/// <item><c>GET /api/runs</c> — every run under the run directory (<see cref="RunRow"/>);</item>
/// <item><c>GET /api/charts?runs=A,B</c> — the curves of those runs overlaid, as SVG;</item>
/// <item><c>GET /api/runs/{run}/trajectories?step=N</c> — a step's logged trajectories by group and tree (<see cref="TrajectoryPage"/>).</item>
/// </list>
/// </summary>
public sealed class RunDashboard : IAsyncDisposable
{
    // Text as written ('<', quotes): the page sets it as text, never as HTML.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly WebApplication _app;

    private RunDashboard(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The page's address, e.g. <c>http://127.0.0.1:5180/</c>.</summary>
    public string Url { get; }

    /// <summary>Starts serving; returns once the port is bound.</summary>
    /// <exception cref="ArgumentException">The host is not an IP address, or the port is out of range or taken.</exception>
    public static async Task<RunDashboard> StartAsync(AgentRlClient client, RunDashboardOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        if (!IPAddress.TryParse(options.Host, out var address))
        {
            throw new ArgumentException($"--host must be an IP address such as 127.0.0.1, not '{options.Host}'.", nameof(options));
        }

        if (options.Port is < 0 or > 65535)
        {
            throw new ArgumentException($"--port must be in [0, 65535], not {options.Port}.", nameof(options));
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(address, options.Port));
        var app = builder.Build();
        Map(app, new DashboardData(client, options.RunDir));
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new ArgumentException($"cannot listen on {options.Host}:{options.Port}: {e.Message} (choose another with --port).", nameof(options), e);
        }

        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? $"http://{options.Host}:{options.Port}";
        return new RunDashboard(app, bound.TrimEnd('/') + "/");
    }

    private static void Map(WebApplication app, DashboardData data)
    {
        foreach (var (path, file, type) in new[] { ("/", "index.html", "text/html; charset=utf-8"), ("/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8"), ("/dashboard.css", "dashboard.css", "text/css; charset=utf-8") })
        {
            var content = Resource(file);
            app.MapGet(path, () => Results.Text(content, type));
        }

        app.MapGet("/api/runs", (CancellationToken ct) => Answer(async () => new { runDir = data.RunDir, runs = await data.RunsAsync(ct) }));
        app.MapGet("/api/charts", (string? runs, CancellationToken ct) => Answer(async () =>
        {
            var ids = (runs ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList();
            var charts = await data.ChartsAsync(ids, ct);
            return new { runs = ids, charts = charts.Select(c => new { column = c.Curve.Column, title = c.Curve.Title, svg = c.Svg }) };
        }));
        app.MapGet("/api/runs/{runId}/trajectories", (string runId, string? step, CancellationToken ct) => Answer(async () =>
        {
            long? at = null;
            if (!string.IsNullOrEmpty(step))
            {
                at = long.TryParse(step, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var s) && s >= 0
                    ? s
                    : throw new ArgumentException($"step must be a whole number ≥ 0, not '{step}'.");
            }

            return await data.TrajectoriesAsync(runId, at, ct);
        }));
        app.MapFallback((HttpContext context) => Results.Json(new { error = $"nothing at {context.Request.Path}: the dashboard serves /, /api/runs, /api/charts?runs=A,B and /api/runs/RUN/trajectories?step=N." }, Json, statusCode: 404));
    }

    /// <summary>The endpoint's answer as JSON, or <c>{"error": …}</c> with the status that says whose problem it is.</summary>
    private static async Task<IResult> Answer(Func<Task<object>> body)
    {
        try
        {
            return Results.Json(await body(), Json);
        }
        catch (RunNotFoundException e)
        {
            return Results.Json(new { error = e.Message }, Json, statusCode: 404);
        }
        catch (ArgumentException e)
        {
            return Results.Json(new { error = e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message }, Json, statusCode: 400);
        }
        catch (Exception e) when (e is OrleansException or TimeoutException or ObjectDisposedException)
        {
            return Results.Json(new { error = $"the cluster does not answer ({e.GetType().Name}: {e.Message}); is it still running?" }, Json, statusCode: 503);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Results.Json(new { error = $"{e.GetType().Name}: {e.Message}" }, Json, statusCode: 500);
        }
    }

    private static string Resource(string file)
    {
        using var stream = typeof(RunDashboard).Assembly.GetManifestResourceStream("wwwroot/" + file)
            ?? throw new InvalidOperationException($"the dashboard's {file} is missing from {typeof(RunDashboard).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>Stops serving: requests in flight get up to two seconds.</summary>
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await _app.StopAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Requests that outlived the grace period are cut off.
        }

        await _app.DisposeAsync();
    }
}
