using AgentRl.Tools.Calculator;
using AgentRl.Tools.Parsing;
using CsCheck;

namespace AgentRl.Tools.Tests.Tools;

/// <summary>
/// Hostile input as properties (CsCheck, seeded and shrinking): whatever a model or a user writes, the tool-call parser
/// and the calculator give a valid result or their own clear error — never another exception. Inputs mix random text
/// with the fragments that matter to each grammar (tags, braces, quotes, escapes, lone surrogates, huge numbers).
/// </summary>
public sealed class HostileInputTests
{
    private static readonly Gen<string> CallFragments = Gen.OneOf(
        "<tool_call>", "</tool_call>", "<tool_call", "{", "}", "[", "]", "\"", ":", ",", "\"name\"", "\"arguments\"",
        "\"calculator-evaluate\"", "\"python-run\"", "null", "true", "1e999", "-0", "\\", "\\u0000", "\\ud800", "é", "\ud800", " ", "\n",
        "<answer>", "</answer>", "<|end|>", "<|im_end|>", new string('{', 64), new string('[', 64),
        "{\"name\": \"calculator-evaluate\", \"arguments\": {\"expression\": \"1+1\"}}", "{\"name\": 3, \"arguments\": \"x\"}");

    private static readonly Gen<string> Turns = Gen.OneOf(CallFragments.Array[0, 60].Select(string.Concat), Gen.String[0, 400]);

    private static readonly Gen<string> Expressions = Gen.OneOf(
        "0", "1", "7", "12", "99999999999999999999", "0.5", ".", "1e5", "+", "-", "*", "/", "%", "^", "**", "(", ")", " ",
        "9^9", "^-", "2^100000", "10^99999", "((((((((", "))", "0/0", "1/3", "x").Array[0, 40].Select(string.Concat);

    [Fact]
    public void ToolCallParser_AnyText_IsAParseWithItsErrors_NeverAnException()
    {
        var parser = new ToolCallParser();
        Turns.Sample(text =>
        {
            var turn = parser.Parse(text);
            Assert.NotNull(turn.Content);
            Assert.All(turn.Calls, c => Assert.True(c.Error is not null || !string.IsNullOrEmpty(c.Call.Name), $"a call with no name and no error from: {text}"));
        }, iter: 3000, threads: 1);
    }

    /// <summary>What the property found first: an unpaired surrogate made the JSON reader throw out of the parser.</summary>
    [Fact]
    public void ToolCallParser_UnpairedSurrogate_IsAMalformedCall()
    {
        // The shrunk counterexample (seed 90ik0Mzs-zc1): an unterminated call whose body holds a lone high surrogate.
        var text = "{\"name\": \"calculator-evaluate\", \"arguments\": {\"expression\": \"1+1\"}}<tool_call>{" + new string('[', 64) + "\ud800\"name\"</answer>";
        var calls = new ToolCallParser().Parse(text).Calls;
        Assert.Contains(calls, c => c.Error?.Contains("unpaired UTF-16 surrogate", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void RunConfig_AnyJson_IsAConfigWithItsProblemsOrAJsonError()
    {
        var fragments = Gen.OneOf("{", "}", "[", "]", ",", ":", "\"steps\"", "\"promptsPerStep\"", "\"mode\"", "\"maxStaleness\"", "\"overSampling\"",
            "\"limits\"", "\"swarm\"", "\"objective\"", "\"taskOptions\"", "\"async\"", "-1", "0", "1e999", "2147483648", "\"x\"", "null", "true", " ");
        Gen.OneOf(fragments.Array[0, 30].Select(string.Concat), Gen.String[0, 100]).Sample(json =>
        {
            AgentRl.Abstractions.Training.RunConfig? config;
            try
            {
                config = System.Text.Json.JsonSerializer.Deserialize<AgentRl.Abstractions.Training.RunConfig>(json, AgentRl.Abstractions.Training.RunJson.Options);
            }
            catch (System.Text.Json.JsonException)
            {
                return;
            }

            // "null" reads as no configuration, which the CLI refuses; anything else validates without throwing.
            _ = config?.Validate().ToList();
        }, iter: 3000, threads: 1);
    }

    [Fact]
    public void Calculator_AnyExpression_IsAResultOrACalculatorError()
    {
        Expressions.Sample(expression =>
        {
            try
            {
                Assert.False(string.IsNullOrEmpty(ExpressionEvaluator.Format(ExpressionEvaluator.Evaluate(expression))));
            }
            catch (CalculatorException)
            {
                // The clear error the tool returns to the model.
            }
        }, iter: 3000, threads: 1);
    }

    private static readonly Gen<string> JsonlFragments = Gen.OneOf(
        "{", "}", "[", "]", ",", ":", "\"", "\"prompt\"", "\"answer\"", "\"id\"", "\"split\"", "\"metadata\"", "\"documents\"",
        "\"messages\"", "\"role\"", "\"content\"", "\"toolCalls\"", "\"name\"", "\"arguments\"", "\"assistant\"", "\"tool\"",
        "\"train\"", "\"eval\"", "\"x\"", "\"\"", "1", "-1", "1e999", "null", "true", "[]", "{}", "\ud800", " ",
        "{\"prompt\": \"q\", \"answer\": \"4\"}", "{\"prompt\": 3, \"answer\": [1]}", "{\"prompt\": \"q\", \"answer\": \"4\", \"documents\": [{\"id\": 1}]}");

    /// <summary>
    /// A JSONL dataset of hostile lines loads its good lines or is refused with an <see cref="ArgumentException"/> that
    /// names its file and lines — never another exception.
    /// </summary>
    [Fact]
    public void JsonlDataset_AnyLines_LoadsOrIsRefusedNamingItsLines()
    {
        var dir = Directory.CreateTempSubdirectory("agentrl-hostile-jsonl-").FullName;
        try
        {
            var line = Gen.OneOf(JsonlFragments.Array[0, 24].Select(string.Concat), Gen.String[0, 80]);
            var round = 0;
            Gen.Select(line.Array[1, 6], line.Array[0, 4], (items, demos) => (items, demos)).Sample(p =>
            {
                var items = Path.Combine(dir, $"items-{round}.jsonl");
                var demos = Path.Combine(dir, $"demos-{round++}.jsonl");
                // Written as UTF-8 with replacement (a lone surrogate becomes U+FFFD), and one line of raw invalid UTF-8.
                var utf8 = new System.Text.UTF8Encoding(false);
                File.WriteAllLines(items, ["{\"prompt\": \"a seed item\", \"answer\": \"1\", \"split\": \"train\"}", .. p.items], utf8);
                File.AppendAllText(items, "{\"prompt\": \"\xff\xfe\", \"answer\": \"2\"}\n", System.Text.Encoding.Latin1);
                File.WriteAllLines(demos, p.demos, utf8);
                foreach (var options in new[] { new Dictionary<string, string> { ["path"] = items }, new Dictionary<string, string> { ["path"] = items, ["demonstrations"] = demos } })
                {
                    try
                    {
                        var task = AgentRl.Tasks.TaskRegistry.CreateDefault().Create("jsonl", options);
                        Assert.NotEmpty(task.Generate(AgentRl.Tasks.TaskSplit.Train, 2, 0));
                    }
                    catch (ArgumentException e)
                    {
                        Assert.Contains(".jsonl", e.Message, StringComparison.Ordinal);
                    }
                }
            }, iter: 400, threads: 1);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
