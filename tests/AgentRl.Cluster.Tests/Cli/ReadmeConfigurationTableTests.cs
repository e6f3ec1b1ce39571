using System.Text.Json;
using System.Text.RegularExpressions;
using AgentRl.Abstractions.Training;
using AgentRl.Policy.Configuration;
using AgentRl.Policy.Objectives;
using AgentRl.Policy.Training;

namespace AgentRl.Cluster.Tests.Cli;

/// <summary>The README's configuration tables list every field the code accepts, so the documentation cannot fall behind.</summary>
public sealed partial class ReadmeConfigurationTableTests
{
    private static readonly string Readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));

    [Fact]
    public void RunConfigurationTable_ListsEveryRunConfigField()
    {
        var documented = FirstColumn(Section("### Run configuration reference"));
        var fields = JsonSerializer.SerializeToNode(new RunConfig(), JsonSerializerOptions.Web)!.AsObject();
        var missing = new List<string>();
        foreach (var (name, value) in fields)
        {
            // Nested records (limits, branching) are documented field by field; option maps as one row.
            var rows = value is System.Text.Json.Nodes.JsonObject nested && name is not ("taskOptions" or "objective" or "trainer")
                ? nested.Select(kv => $"{name}.{kv.Key}")
                : [name];
            missing.AddRange(rows.Where(r => !documented.Contains(r)));
        }

        Assert.True(missing.Count == 0, "README run configuration table lacks: " + string.Join(", ", missing));
    }

    [Fact]
    public void ObjectiveAndTrainerTables_ListEveryBindableField()
    {
        var objective = FirstColumn(Section("### Objective fields"));
        var trainer = FirstColumn(Section("### Trainer fields"));

        Assert.Equal(OptionsBinder.Keys<ObjectiveOptions>().Order(), objective.Order());
        Assert.Equal(OptionsBinder.Keys<TrainerOptions>(TrainerOptions.RunLevelFields).Order(), trainer.Order());
    }

    private static string Section(string heading)
    {
        var start = Readme.IndexOf(heading + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"README has no section '{heading}'");
        var end = Readme.IndexOf("\n#", start + heading.Length, StringComparison.Ordinal);
        return end < 0 ? Readme[start..] : Readme[start..end];
    }

    private static List<string> FirstColumn(string section) =>
        [.. TableRow().Matches(section).Select(m => m.Groups[1].Value).Where(v => v != "field")];

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "AgentRl.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("AgentRl.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^\| `([^`]+)` \|", RegexOptions.Multiline)]
    private static partial Regex TableRow();
}
