using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace AgentRl.Cluster.Tests.Infrastructure;

/// <summary>
/// A real Prometheus server (Debian's <c>prometheus</c>, installed by test.sh) on a free 127.0.0.1 port, with its own
/// configuration and data folder, scraping the given targets every second; stopped by PID when disposed.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly HttpClient _http;

    private PrometheusServer(OwnedProcess process, int port, string folder)
    {
        (Process, Port, Folder) = (process, port, folder);
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public OwnedProcess Process { get; }

    public int Port { get; }

    public string Folder { get; }

    /// <summary>Debian's binary, or the one on PATH.</summary>
    public static string? Executable =>
        new[] { "/usr/bin/prometheus" }.Concat((Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "prometheus")))
            .FirstOrDefault(File.Exists);

    public static async Task<PrometheusServer> StartAsync(params string[] targets)
    {
        var executable = Executable ?? throw new InvalidOperationException("prometheus is not installed; run ./test.sh (it installs Debian's prometheus) or apt-get install prometheus.");
        var port = Processes.FreeTcpPort();
        var folder = Directory.CreateTempSubdirectory("agentrl-prometheus-").FullName;
        var config = Path.Combine(folder, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
              - job_name: agentrl-silo
                static_configs:
                  - targets: [{string.Join(", ", targets.Select(t => $"'{t}'"))}]
            """);
        var process = new OwnedProcess("prometheus", executable,
        [
            "--config.file=" + config,
            "--storage.tsdb.path=" + Path.Combine(folder, "data"),
            "--web.listen-address=127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            "--log.level=warn",
        ]);
        var server = new PrometheusServer(process, port, folder);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (process.Process.HasExited)
            {
                await server.DisposeAsync();
                throw new InvalidOperationException("prometheus exited: " + process.Output);
            }

            try
            {
                if ((await server._http.GetAsync("-/ready")).IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200);
        }

        await server.DisposeAsync();
        throw new TimeoutException("prometheus was not ready within 30 s: " + process.Output);
    }

    /// <summary>An instant query through the HTTP API: each series' labels and value.</summary>
    public async Task<IReadOnlyList<(Dictionary<string, string> Labels, double Value)>> QueryAsync(string query)
    {
        using var document = await _http.GetFromJsonAsync<JsonDocument>("api/v1/query?query=" + Uri.EscapeDataString(query))
            ?? throw new InvalidOperationException("empty answer from prometheus");
        var root = document.RootElement;
        if (root.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException("prometheus query failed: " + root);
        }

        return [.. root.GetProperty("data").GetProperty("result").EnumerateArray().Select(series => (
            series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? ""),
            double.Parse(series.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)))];
    }

    /// <summary>The health of each scrape target (<c>up</c>, <c>down</c>, <c>unknown</c>) and its last error.</summary>
    public async Task<string> TargetsAsync() => await _http.GetStringAsync("api/v1/targets");

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await Process.DisposeAsync();
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}
