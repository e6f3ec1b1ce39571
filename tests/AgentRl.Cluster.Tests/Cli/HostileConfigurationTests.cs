using System.Text.Json;
using System.Text.Json.Nodes;
using AgentRl.Abstractions.Training;
using AgentRl.Cli.Commands;
using CsCheck;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary>
/// Hostile configuration as properties (CsCheck): any <c>--set key=value</c> over the real field names (nested, mistyped,
/// misspelt) and any configuration file text resolve to a valid configuration or fail with the client's own
/// <see cref="FormatException"/> / <see cref="ArgumentException"/> (exit 2 with the message) — never another exception.
/// </summary>
public sealed class HostileConfigurationTests : IDisposable
{
    private static readonly string[] Fields = [.. JsonSerializer.SerializeToNode(new RunConfig(), new JsonSerializerOptions(JsonSerializerDefaults.Web))!.AsObject().Select(kv => kv.Key)];

    private static readonly Gen<string> Keys = Gen.OneOf(
        Gen.OneOf(Fields),
        Gen.Select(Gen.OneOf(Fields), Gen.OneOf("", ".", ".x", ".contextBudget", ".maxTurns", ".local", ".pool", "..", ".a.b", "X"), (f, tail) => f + tail),
        Gen.OneOf("", " ", ".", "taskOptions.", "objective.clipRatio", "limits", "limits.", "=", "swarm.local", "STEPS", "stepz"),
        Gen.String[0, 12]);

    private static readonly Gen<string> Values = Gen.OneOf(
        Gen.OneOf("", " ", "0", "-1", "3", "1e999", "NaN", "2.5", "true", "null", "[]", "{}", "[1,2]", "{\"a\":1}", "\"x\"", "x,y", "sync", "async",
            "none", "sft-equal-time", "9223372036854775808", "\ud800", "{", "[", "\"", "skip-tool,bogus"),
        Gen.String[0, 20]);

    private readonly string _dir = Directory.CreateTempSubdirectory("agentrl-hostile-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Set_AnyKeyAndValue_IsAConfigurationOrTheClientsError()
    {
        Gen.Select(Keys, Values, (key, value) => $"{key}={value}").Array[1, 4].Sample(sets =>
        {
            try
            {
                var config = TrainCommands.Resolve(null, null, null, null, null, null, sets);
                Assert.Empty(config.Validate());
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        }, iter: 3000, threads: 1);
    }

    [Fact]
    public void ConfigFile_AnyText_IsAConfigurationOrTheClientsError()
    {
        var fragments = Gen.OneOf(
            Gen.OneOf("{", "}", "[", "]", ",", ":", " ", "// c\n", "/* c */").Select(s => s),
            Gen.OneOf(Fields).Select(f => $"\"{f}\""),
            Values.Select(v => JsonValue.Create(v)!.ToJsonString()),
            Gen.OneOf("1", "-3", "true", "null", "{\"contextBudget\": -1}", "[\"skip-tool\"]", "{\"maxOperations\": \"3\"}"));
        var path = Path.Combine(_dir, "run.json");
        Gen.OneOf(fragments.Array[0, 30].Select(string.Concat), Gen.String[0, 100]).Sample(text =>
        {
            File.WriteAllText(path, text);
            try
            {
                var config = TrainCommands.Resolve(path, null, null, null, null, null, []);
                Assert.Empty(config.Validate());
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
        }, iter: 3000, threads: 1);
    }
}
