using System.ComponentModel;
using System.Text.Json;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tools;
using AgentRl.Tools.Catalog;
using AgentRl.Tools.Parsing;
using Microsoft.Extensions.Configuration;
using Microsoft.SemanticKernel;

namespace AgentRl.Tools.Tests.Tools;

/// <summary>A user's plugin, loaded by the catalog from this test assembly by type name and assembly path.</summary>
public sealed class WeatherPlugin
{
    public enum Unit
    {
        Celsius,
        Fahrenheit,
    }

    [KernelFunction("forecast")]
    [Description("Gives the forecast for a city")]
    public string Forecast(
        [Description("Name of the city")] string city,
        [Description("Days ahead, 0 = today")] int days,
        [Description("Temperature unit")] Unit unit = Unit.Celsius) => $"{city}|{days}|{unit}";

    [KernelFunction("fail")]
    [Description("Always fails")]
    public string Fail() => throw new InvalidOperationException("sensor offline");

    [KernelFunction("hang")]
    [Description("Blocks for a long time, ignoring cancellation")]
    public string Hang()
    {
        Thread.Sleep(3000);
        return "late";
    }

    [KernelFunction("spam")]
    [Description("Returns n letters")]
    public string Spam([Description("How many letters")] int n) => new('y', n);

    [KernelFunction("stats")]
    [Description("Returns a structured value")]
    public IReadOnlyDictionary<string, int> Stats() => new Dictionary<string, int> { ["count"] = 2 };
}

public sealed class ToolCatalogTests
{
    private static readonly KbDocument[] Docs = [new("1", "Paris", "capital of France"), new("2", "Berlin", "capital of Germany")];

    private static ToolCatalog NewCatalog(Action<ToolCatalogOptions>? configure = null)
    {
        var options = new ToolCatalogOptions();
        options.Plugins["weather"] = new ToolPluginRegistration
        {
            Type = typeof(WeatherPlugin).FullName!,
            AssemblyPath = typeof(WeatherPlugin).Assembly.Location,
        };
        configure?.Invoke(options);
        return new ToolCatalog(options);
    }

    private static readonly string[] AllWeather = ["weather-forecast", "weather-fail", "weather-hang", "weather-spam", "weather-stats"];

    [Fact]
    public void Catalog_BuiltInsAndUserPlugin_AreRegisteredByName()
    {
        var catalog = NewCatalog();

        Assert.Equal(
            ["calculator-evaluate", "kb-search", "python-run", "weather-fail", "weather-forecast", "weather-hang", "weather-spam", "weather-stats"],
            catalog.ToolNames);
    }

    [Fact]
    public void NeedsKnowledgeBase_OnlyForToolsWhosePluginTakesAnIndex()
    {
        var catalog = NewCatalog();

        Assert.Equal(["kb-search"], catalog.ToolNames.Where(catalog.NeedsKnowledgeBase));
        Assert.False(catalog.NeedsKnowledgeBase("no-such-tool"));
        Assert.Throws<ArgumentException>(() => catalog.OpenSession(["kb-search"]));
        using var session = catalog.OpenSession(catalog.ToolNames.Where(name => !catalog.NeedsKnowledgeBase(name)));
        Assert.Equal(7, session.Tools.Count);
    }

    [Fact]
    public async Task Session_UserPluginFromAssembly_BindsTypedArguments()
    {
        using var session = NewCatalog().OpenSession(AllWeather);

        var observation = await session.ExecuteAsync(new ToolCall("weather-forecast", "{\"city\": \"Oslo\", \"days\": \"2\", \"unit\": \"fahrenheit\"}"));

        Assert.False(observation.IsError, observation.Text);
        Assert.Null(observation.ErrorKind);
        Assert.Equal("Oslo|2|Fahrenheit", observation.Text);
        Assert.Equal("weather-forecast", observation.ToolName);

        var defaults = await session.ExecuteAsync(new ToolCall("weather-forecast", "{\"city\": \"Rome\", \"days\": 0}"));
        Assert.Equal("Rome|0|Celsius", defaults.Text);

        var lenient = await session.ExecuteAsync(new ToolCall("weather-forecast", "{\"City\": 42, \"DAYS\": 1}"));
        Assert.Equal("42|1|Celsius", lenient.Text);

        var structured = await session.ExecuteAsync(new ToolCall("weather-stats", ""));
        Assert.Equal("{\"count\":2}", structured.Text);
    }

    [Fact]
    public void Specs_FromMetadata_CarryNamesTypesDescriptionsAndRequired()
    {
        using var session = NewCatalog().OpenSession(["calculator-evaluate", "weather-forecast", "kb-search"], new ToolSessionContext { KnowledgeBase = Docs });

        Assert.Equal(["calculator-evaluate", "weather-forecast", "kb-search"], session.Tools.Select(t => t.Name));

        var calculator = session.Tools[0];
        Assert.StartsWith("Evaluates an arithmetic expression exactly.", calculator.Description, StringComparison.Ordinal);
        var calcSchema = JsonDocument.Parse(calculator.ParametersSchemaJson).RootElement;
        Assert.Equal("object", calcSchema.GetProperty("type").GetString());
        var expression = calcSchema.GetProperty("properties").GetProperty("expression");
        Assert.Equal("string", expression.GetProperty("type").GetString());
        Assert.StartsWith("The expression", expression.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(["expression"], calcSchema.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.DoesNotContain("condition", calculator.ParametersSchemaJson, StringComparison.Ordinal);

        var weather = JsonDocument.Parse(session.Tools[1].ParametersSchemaJson).RootElement;
        Assert.Equal("Gives the forecast for a city", session.Tools[1].Description);
        var properties = weather.GetProperty("properties");
        Assert.Equal("integer", properties.GetProperty("days").GetProperty("type").GetString());
        Assert.Equal("Days ahead, 0 = today", properties.GetProperty("days").GetProperty("description").GetString());
        Assert.Equal(["Celsius", "Fahrenheit"], properties.GetProperty("unit").GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["city", "days"], weather.GetProperty("required").EnumerateArray().Select(e => e.GetString()));

        var kb = JsonDocument.Parse(session.Tools[2].ParametersSchemaJson).RootElement.GetProperty("properties");
        Assert.Equal("integer", kb.GetProperty("k").GetProperty("type").GetString());
        Assert.Equal(3, kb.GetProperty("k").GetProperty("default").GetInt32());
        Assert.Equal("Celsius", properties.GetProperty("unit").GetProperty("default").GetString());
    }

    [Theory]
    [InlineData("nope-x", "{}", ToolErrorKinds.UnknownTool, "Unknown tool 'nope-x'")]
    [InlineData("", "{}", ToolErrorKinds.UnknownTool, "no tool name")]
    [InlineData("python-run", "{\"code\": \"1\"}", ToolErrorKinds.NotAllowed, "not available in this task")]
    [InlineData("weather-forecast", "{\"city\": \"Oslo\", \"days\": ", ToolErrorKinds.BadJson, "not valid JSON")]
    [InlineData("weather-forecast", "[\"Oslo\", 2]", ToolErrorKinds.BadJson, "must be a JSON object")]
    [InlineData("weather-forecast", "{\"city\": \"Oslo\"}", ToolErrorKinds.BadArguments, "missing required argument 'days'")]
    [InlineData("weather-forecast", "{\"city\": \"Oslo\", \"days\": \"soon\"}", ToolErrorKinds.BadArguments, "'days' must be an integer, got \"soon\"")]
    [InlineData("weather-forecast", "{\"city\": \"Oslo\", \"days\": 1, \"unit\": \"kelvin\"}", ToolErrorKinds.BadArguments, "'unit' must be one of Celsius, Fahrenheit")]
    [InlineData("weather-forecast", "{\"city\": \"Oslo\", \"days\": 1, \"town\": \"x\"}", ToolErrorKinds.BadArguments, "unknown argument 'town'")]
    [InlineData("weather-forecast", "{\"city\": null, \"days\": 1}", ToolErrorKinds.BadArguments, "'city' must not be null")]
    [InlineData("weather-forecast", "{\"city\": \"Oslo\", \"City\": \"Rome\", \"days\": 1}", ToolErrorKinds.BadArguments, "'city' is given twice")]
    [InlineData("weather-fail", "{}", ToolErrorKinds.ToolException, "Error in weather-fail: sensor offline")]
    [InlineData("calculator-evaluate", "{\"expression\": \"1/0\"}", ToolErrorKinds.ToolException, "division by zero at position 2")]
    public async Task Execute_FailedCall_IsErrorObservationWithKind(string name, string arguments, string kind, string message)
    {
        using var session = NewCatalog().OpenSession([.. AllWeather, "calculator-evaluate"]);

        var observation = await session.ExecuteAsync(new ToolCall(name, arguments));

        Assert.True(observation.IsError);
        Assert.Equal(kind, observation.ErrorKind);
        Assert.Contains(message, observation.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Specs_PythonRun_HidesCancellationTokenParameter()
    {
        using var session = NewCatalog().OpenSession(["python-run"]);

        var schema = JsonDocument.Parse(Assert.Single(session.Tools).ParametersSchemaJson).RootElement;

        Assert.Equal(["code"], schema.GetProperty("properties").EnumerateObject().Select(p => p.Name));
        Assert.Equal("Python 3 source code to run", schema.GetProperty("properties").GetProperty("code").GetProperty("description").GetString());
    }

    [Fact]
    public async Task Execute_ToolIgnoringCancellation_TimesOutOnTime()
    {
        using var session = NewCatalog().OpenSession(AllWeather, new ToolSessionContext { CallTimeout = TimeSpan.FromMilliseconds(300) });

        var observation = await session.ExecuteAsync(new ToolCall("weather-hang", "{}"));

        Assert.True(observation.IsError);
        Assert.Equal(ToolErrorKinds.Timeout, observation.ErrorKind);
        Assert.Contains("0.3 s limit", observation.Text, StringComparison.Ordinal);
        Assert.InRange(observation.LatencyMs, 250, 1500);
    }

    [Fact]
    public async Task Execute_LongOutput_IsCappedWithVisibleMarker()
    {
        using var session = NewCatalog(o => o.MaxOutputChars = 1000).OpenSession(AllWeather);

        var observation = await session.ExecuteAsync(new ToolCall("weather-spam", "{\"n\": 100000}"));

        Assert.False(observation.IsError);
        Assert.Equal(ToolErrorKinds.OutputTruncated, observation.ErrorKind);
        Assert.Equal(new string('y', 1000) + "…[truncated 99000 chars]", observation.Text);
    }

    [Fact]
    public async Task Execute_EmptyAllowList_AllowsNothing()
    {
        using var session = NewCatalog().OpenSession([]);

        Assert.Empty(session.Tools);
        var observation = await session.ExecuteAsync(new ToolCall("calculator-evaluate", "{\"expression\": \"1+1\"}"));
        Assert.Equal(ToolErrorKinds.NotAllowed, observation.ErrorKind);
        Assert.Contains("Available tools: none", observation.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_ParsedCalls_EndToEndIncludingMalformed()
    {
        using var session = NewCatalog().OpenSession(["calculator-evaluate", "kb-search"], new ToolSessionContext { KnowledgeBase = Docs, KnowledgeBaseKey = "geo" });
        var turn = new ToolCallParser().Parse(
            "<tool_call>{\"name\": \"calculator-evaluate\", \"arguments\": {\"expression\": \"(1+2)*3\"}}</tool_call>" +
            "<search>capital Germany</search>" +
            "<tool_call>{\"name\": \"calculator-evaluate\", \"arguments\": {\"expression\": }</tool_call>");

        var observations = new List<ToolObservation>();
        foreach (var call in turn.Calls)
        {
            observations.Add(await session.ExecuteAsync(call));
        }

        Assert.Equal("9", observations[0].Text);
        Assert.StartsWith("[1] Berlin\ncapital of Germany", observations[1].Text, StringComparison.Ordinal);
        Assert.True(observations[2].IsError);
        Assert.Equal(ToolErrorKinds.BadJson, observations[2].ErrorKind);
        Assert.Contains("Malformed tool call to calculator-evaluate", observations[2].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void OpenSession_UnknownAllowListEntryOrMissingKnowledgeBase_FailsFast()
    {
        var catalog = NewCatalog();

        Assert.Contains("weather-rain", Assert.Throws<ArgumentException>(() => catalog.OpenSession(["weather-rain"])).Message, StringComparison.Ordinal);
        Assert.Contains("KnowledgeBase", Assert.Throws<ArgumentException>(() => catalog.OpenSession(["kb-search"])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Catalog_BadRegistration_FailsOnStart()
    {
        Assert.Throws<ArgumentException>(() => NewCatalog(o => o.Plugins["bad-name"] = ToolPluginRegistration.For<WeatherPlugin>()));
        Assert.Throws<ArgumentException>(() => NewCatalog(o => o.Plugins["ghost"] = new ToolPluginRegistration { Type = "No.Such.Type" }));
        Assert.Throws<ArgumentException>(() => NewCatalog(o => o.Plugins["plain"] = ToolPluginRegistration.For<ToolCatalogTests>()));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(2 * 24 * 60 * 60)]
    public void OpenSession_CallTimeoutOutOfRange_NamesTheValue(double seconds)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            NewCatalog().OpenSession(AllWeather, new ToolSessionContext { CallTimeout = TimeSpan.FromSeconds(seconds) }));

        Assert.Contains("callTimeout = ", error.Message, StringComparison.Ordinal);
        Assert.Contains("outside the allowed range (0, 86400] s", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_Problems_NameEveryBadField()
    {
        var options = new ToolCatalogOptions { MaxOutputChars = 10 };
        options.Sandbox.CpuSeconds = 0;
        options.Sandbox.WorkingDirectoryRoot = " ";

        var message = Assert.Throws<ArgumentException>(() => options.Validate()).Message;

        Assert.Contains("tools.maxOutputChars = 10 is outside the allowed range [64, ∞)", message, StringComparison.Ordinal);
        Assert.Contains("tools.sandbox.cpuSeconds = 0 is outside the allowed range [1, ∞)", message, StringComparison.Ordinal);
        Assert.Contains("tools.sandbox.workingDirectoryRoot", message, StringComparison.Ordinal);
    }

    [Fact]
    public void RetiredTimeoutKeys_AreReportedWithTheReplacement()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["AgentRl:Tools:CallTimeout"] = "00:00:30",
                ["AgentRl:Tools:Sandbox:Timeout"] = "00:00:10",
                ["AgentRl:Tools:MaxOutputChars"] = "4096",
            })
            .Build();

        var problems = ToolCatalogOptions.RetiredKeyProblems(configuration);

        Assert.Equal(2, problems.Count);
        Assert.All(problems, p => Assert.Contains("limits.toolTimeoutSeconds", p, StringComparison.Ordinal));
        Assert.StartsWith("AgentRl:Tools:CallTimeout", problems[0], StringComparison.Ordinal);
        Assert.StartsWith("AgentRl:Tools:Sandbox:Timeout", problems[1], StringComparison.Ordinal);
    }
}
