namespace AgentRl.Abstractions.Training;

/// <summary>JSON settings of run configurations and run files (camelCase, indented).</summary>
public static class RunJson
{
    public static readonly System.Text.Json.JsonSerializerOptions Options = new(System.Text.Json.JsonSerializerDefaults.Web) { WriteIndented = true };
}
