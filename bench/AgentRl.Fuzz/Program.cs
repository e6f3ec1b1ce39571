using System.Text;
using System.Text.Json;
using AgentRl.Policy.HuggingFace;
using AgentRl.Policy.Tokenization;
using AgentRl.Tools.Calculator;
using AgentRl.Tools.Parsing;
using SharpFuzz;

// agentrl-fuzz TARGET: one parser under afl-fuzz (SharpFuzz, out of process). An input may give a result or the parser's
// own documented error; any other exception is a crash afl-fuzz records. bench/fuzz.sh builds, instruments and runs it.
var targets = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
{
    ["tool-call"] = bytes =>
    {
        var turn = new ToolCallParser().Parse(Encoding.UTF8.GetString(bytes));
        _ = turn.Calls.Count;
    },
    ["calculator"] = bytes =>
    {
        try
        {
            _ = ExpressionEvaluator.Format(ExpressionEvaluator.Evaluate(Encoding.UTF8.GetString(bytes)));
        }
        catch (CalculatorException)
        {
        }
    },
    ["safetensors"] = bytes =>
    {
        try
        {
            using var stream = new MemoryStream(bytes);
            _ = SafetensorsHeader.Read(stream, "fuzz");
        }
        catch (FormatException)
        {
        }
    },
    ["tokenizer"] = bytes =>
    {
        try
        {
            var tokenizer = new BpeTokenizer(HfTokenizerFile.Read(bytes, null));
            _ = tokenizer.Decode(tokenizer.Encode("ab cd <|endoftext|> é"));
        }
        catch (Exception e) when (e is JsonException or FormatException or NotSupportedException)
        {
        }
    },
    ["model-config"] = bytes =>
    {
        try
        {
            _ = HfJson.ParseModelConfig(Encoding.UTF8.GetString(bytes));
            _ = GenerationConfig.Parse(Encoding.UTF8.GetString(bytes));
        }
        catch (JsonException)
        {
        }
    },
};

if (args.Length != 1 || !targets.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: agentrl-fuzz TARGET (one of {string.Join(", ", targets.Keys)}); run it under afl-fuzz, see bench/fuzz.sh");
    return 2;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    target(copy.ToArray());
});
return 0;
