using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentRl.Policy.Checkpoints;

/// <summary>One stored file of a checkpoint: its path relative to the version folder ('/'-separated), size and SHA-256 (hex).</summary>
public sealed record CheckpointFile(string Name, long Length, string Sha256);

/// <summary>The record that makes a version complete: written after every file, read before any.</summary>
public sealed record CheckpointManifest(long Version, DateTimeOffset CreatedUtc, IReadOnlyList<CheckpointFile> Files)
{
    /// <summary>The manifest's file name inside a local version folder.</summary>
    public const string FileName = "agentrl-checkpoint.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary><c>v000123</c>: the folder (or blob prefix) name of a version.</summary>
    public static string VersionName(long version)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        return "v" + version.ToString("D6", CultureInfo.InvariantCulture);
    }

    /// <summary>Parses <c>v000123</c>; false for anything else.</summary>
    public static bool TryParseVersionName(string name, out long version)
    {
        version = 0;
        return name.Length > 1 && name[0] == 'v' && name.AsSpan(1).IndexOfAnyExceptInRange('0', '9') < 0
            && long.TryParse(name.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out version);
    }

    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    public static CheckpointManifest FromJson(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<CheckpointManifest>(json, Json) ?? throw new InvalidDataException("empty checkpoint manifest");

    /// <summary>Lists the files under <paramref name="directory"/> with sizes and SHA-256, reading each once as a stream.</summary>
    public static async Task<CheckpointManifest> DescribeAsync(long version, string directory, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"checkpoint source folder '{directory}' does not exist");
        }

        var files = new List<CheckpointFile>();
        foreach (var path in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var name = RelativeName(directory, path);
            if (name == FileName)
            {
                throw new ArgumentException($"a checkpoint may not contain a file named {FileName} (reserved for the manifest)");
            }

            files.Add(new CheckpointFile(name, new FileInfo(path).Length, await HashFileAsync(path, cancellationToken)));
        }

        return new CheckpointManifest(version, DateTimeOffset.UtcNow, files);
    }

    public static async Task<string> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
    }

    /// <summary>'/'-separated path of <paramref name="path"/> below <paramref name="root"/>.</summary>
    public static string RelativeName(string root, string path) =>
        Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');

    /// <summary>Checks that a manifest file name stays inside its version folder; returns the local path below <paramref name="root"/>.</summary>
    public static string LocalPath(string root, string name)
    {
        if (string.IsNullOrEmpty(name) || name.StartsWith('/') || name.Contains('\\') || name.Split('/').Any(p => p is "" or "." or ".."))
        {
            throw new InvalidDataException($"checkpoint file name '{name}' is not a relative path inside the version folder");
        }

        return Path.Combine(root, name.Replace('/', Path.DirectorySeparatorChar));
    }

    /// <summary>Throws <see cref="InvalidDataException"/> when a downloaded file differs from the manifest.</summary>
    public static async Task VerifyAsync(CheckpointFile file, string path, string store, CancellationToken cancellationToken)
    {
        var length = new FileInfo(path).Length;
        if (length != file.Length)
        {
            throw new InvalidDataException($"{store}: file {file.Name} has {length} bytes, the manifest says {file.Length}");
        }

        if (await HashFileAsync(path, cancellationToken) != file.Sha256)
        {
            throw new InvalidDataException($"{store}: file {file.Name} does not match the SHA-256 in the manifest");
        }
    }
}

/// <summary>The checkpoint storage failed (outage, permissions, full disk); the message names the store and the location.</summary>
public class CheckpointStoreException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>The version is not in the store (never published, incomplete, or deleted).</summary>
public sealed class CheckpointNotFoundException(string message) : CheckpointStoreException(message);
