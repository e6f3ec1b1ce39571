using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace AgentRl.Cluster.Tests.Infrastructure;

/// <summary>
/// A real Azurite blob service (installed by tests/scripts/install-azurite.sh into .tools/azurite) on a free 127.0.0.1 port,
/// storing into a temporary folder, stopped by PID when disposed. No <c>--skipApiVersionCheck</c>: the store's pinned
/// service version must be accepted as it is.
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    public const string AccountName = "devstoreaccount1";

    /// <summary>Azurite's well-known development account key (public, documented by Microsoft).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private AzuriteServer(OwnedProcess process, int port, string location)
    {
        Process = process;
        Port = port;
        Location = location;
    }

    public OwnedProcess Process { get; private set; }

    public int Port { get; }

    public string Location { get; }

    public string ConnectionString => ConnectionStringFor(Port);

    public static string Executable => Path.Combine(Processes.RepoRoot, ".tools", "azurite", "node_modules", ".bin", "azurite-blob");

    /// <summary>The development-account connection string for a blob endpoint on <paramref name="port"/> (listening or not).</summary>
    public static string ConnectionStringFor(int port) =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};BlobEndpoint=http://127.0.0.1:{port}/{AccountName};";

    public static async Task<AzuriteServer> StartAsync()
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException($"Azurite is not installed at {Executable}; run tests/scripts/install-azurite.sh (test.sh does).");
        }

        var port = Processes.FreeTcpPort();
        var location = Directory.CreateTempSubdirectory("agentrl-azurite-").FullName;
        return new AzuriteServer(await ListenAsync(port, location), port, location);
    }

    /// <summary>Starts the service again after <see cref="StopAsync"/>, on the same port and folder: the outage ends, the blobs are still there.</summary>
    public async Task RestartAsync()
    {
        await Process.DisposeAsync();
        Process = await ListenAsync(Port, Location);
    }

    private static async Task<OwnedProcess> ListenAsync(int port, string location)
    {
        var process = new OwnedProcess("azurite", Executable,
        [
            "--blobHost", "127.0.0.1", "--blobPort", port.ToString(CultureInfo.InvariantCulture),
            "--location", location, "--disableTelemetry", "--silent",
        ]);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (process.Process.HasExited)
            {
                throw new InvalidOperationException("azurite-blob exited: " + process.Output);
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return process;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        await process.DisposeAsync();
        throw new TimeoutException("azurite-blob did not listen within 20 s: " + process.Output);
    }

    /// <summary>Stops the service now (SIGTERM, by PID) to simulate a storage outage; the folder stays until disposal.</summary>
    public async Task StopAsync()
    {
        Processes.Terminate(Process.Process);
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await Process.Process.WaitForExitAsync(wait.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        try
        {
            Directory.Delete(Location, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless.
        }
    }
}

/// <summary>xunit fixture: one Azurite shared by the tests of a class.</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public AzuriteServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await AzuriteServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
