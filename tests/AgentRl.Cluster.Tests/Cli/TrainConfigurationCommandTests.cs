using System.Text.Json.Nodes;
using AgentRl.Cluster.Tests.Infrastructure;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary>
/// <c>agentrl train --print-config</c> as a real process: every resolved value is shown, and a wrong key or value is
/// refused up front with exit code 2 and a message naming it.
/// </summary>
public sealed class TrainConfigurationCommandTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private readonly string _folder = Directory.CreateTempSubdirectory("agentrl-config-").FullName;

    private static Task<(int ExitCode, string Stdout, string Stderr)> TrainAsync(params string[] args) =>
        Processes.RunAsync("dotnet", [Processes.ClientDll, "train", "--print-config", .. args], Timeout);

    [Fact]
    public async Task PrintConfig_Overrides_ShowsTheResolvedObjectiveAndTrainerWithThePreset()
    {
        var result = await TrainAsync("--algorithm", "dapo", "--set", "objective.clipRatioLow=0.1", "--set", "trainer.ppoEpochs=2");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var config = JsonNode.Parse(result.Stdout)!.AsObject();
        var objective = config["objective"]!.AsObject();
        Assert.Equal(0.1, objective["clipRatioLow"]!.GetValue<double>());
        Assert.Equal(0.28, objective["clipRatioHigh"]!.GetValue<double>());     // dapo's clip-higher
        Assert.True(objective["filterGroups"]!.GetValue<bool>());
        Assert.Equal(10, objective["maxNumGenBatches"]!.GetValue<int>());
        Assert.Equal("token-mean", objective["lossAggMode"]!.GetValue<string>());
        Assert.Equal(2, config["trainer"]!["ppoEpochs"]!.GetValue<int>());
        Assert.Equal(0.9, config["trainer"]!["beta1"]!.GetValue<double>());
    }

    [Fact]
    public async Task PrintConfig_BranchingAlgorithm_FillsItsTreePreset()
    {
        var result = await TrainAsync("--algorithm", "aepo");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var config = JsonNode.Parse(result.Stdout)!.AsObject();
        Assert.Equal("aepo-premonitor", config["branching"]!["budgetAllocator"]!.GetValue<string>());
        Assert.Equal("entropy-balanced", config["objective"]!["policyLoss"]!.GetValue<string>());
        Assert.Equal(0.2, config["objective"]!["entropyAdvantageAlpha"]!.GetValue<double>());
    }

    [Theory]
    [InlineData("objective.clipRatioHihg=0.3", "objective.clipRatioHihg", "clipRatioHigh")]
    [InlineData("trainer.ppoEpoch=2", "trainer.ppoEpoch", "ppoEpochs")]
    [InlineData("trainer.learningRate=1e-3", "trainer.learningRate", "learningRate instead")]
    [InlineData("stpes=3", "stpes", "steps")]
    [InlineData("limits.maxTurnz=3", "limits.maxTurnz", "maxTurns")]
    [InlineData("objective.clipRatioHigh=abc", "objective.clipRatioHigh", "expected a number")]
    [InlineData("trainer.ppoEpochs=1.5", "trainer.ppoEpochs", "whole number")]
    [InlineData("objective.useKlLoss=maybe", "objective.useKlLoss", "true or false")]
    [InlineData("objective.lossAggMode=mean", "objective.lossAggMode", "token-mean")]
    [InlineData("objective.clipRatioC=0.5", "objective.clipRatioC", "allowed range")]
    [InlineData("trainer.beta2=1", "trainer.beta2", "allowed range")]
    [InlineData("steps=abc", "steps", "whole number")]
    [InlineData("algorithm=ppo", "ppo", "grpo")]
    public async Task PrintConfig_BadKeyOrValue_ExitsTwoNamingIt(string assignment, string named, string hint)
    {
        var result = await TrainAsync("--set", assignment);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(named, result.Stderr, StringComparison.Ordinal);
        Assert.Contains(hint, result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("(Parameter", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrintConfig_ConfigFileWithANumberAsText_IsRefusedNamingTheField()
    {
        var file = Path.Combine(_folder, "run.json");
        await File.WriteAllTextAsync(file, """{"steps": "3", "objective": {"clipRatioHigh": 0.3}}""");

        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "train", file, "--print-config"], Timeout);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("'steps'", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PrintConfig_ConfigFileObjectiveNumbers_AreAccepted()
    {
        var file = Path.Combine(_folder, "run.json");
        await File.WriteAllTextAsync(file, """{"algorithm": "gspo", "objective": {"clipRatioHigh": 5e-4, "useKlLoss": true}, "trainer": {"miniBatches": 2}}""");

        var result = await Processes.RunAsync("dotnet", [Processes.ClientDll, "train", file, "--print-config"], Timeout);

        Assert.True(result.ExitCode == 0, result.Stderr);
        var config = JsonNode.Parse(result.Stdout)!.AsObject();
        Assert.Equal(5e-4, config["objective"]!["clipRatioHigh"]!.GetValue<double>());
        Assert.Equal(3e-4, config["objective"]!["clipRatioLow"]!.GetValue<double>());
        Assert.True(config["objective"]!["useKlLoss"]!.GetValue<bool>());
        Assert.Equal(2, config["trainer"]!["miniBatches"]!.GetValue<int>());
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
