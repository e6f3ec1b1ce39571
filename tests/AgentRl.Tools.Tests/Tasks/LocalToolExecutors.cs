using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AgentRl.Abstractions.Chat;
using AgentRl.Abstractions.Tools;

namespace AgentRl.Tools.Tests.Tasks;

/// <summary>
/// Small honest stand-ins for the real tool catalog, used to build demonstrations in these tests: each really
/// computes its result (an independent shunting-yard calculator, a keyword search over the item's documents,
/// a real python3 process).
/// </summary>
internal abstract class LocalExecutor(string name, string argument) : IToolExecutor
{
    public List<ToolCall> Calls { get; } = [];

    public IReadOnlyList<ToolSpec> Tools { get; } = [new ToolSpec(name, name, "{\"type\":\"object\",\"properties\":{\"" + argument + "\":{\"type\":\"string\"}}}")];

    public async Task<ToolObservation> ExecuteAsync(ToolCall call, CancellationToken cancellationToken = default)
    {
        Calls.Add(call);
        if (call.Name != name)
        {
            return new ToolObservation(call.Name, $"unknown tool {call.Name}", true, "unknown_tool", 0);
        }

        try
        {
            using var doc = JsonDocument.Parse(call.ArgumentsJson);
            var text = await RunAsync(doc.RootElement, cancellationToken);
            return new ToolObservation(name, text, false, null, 0);
        }
        catch (Exception e) when (e is JsonException or FormatException or ArithmeticException or KeyNotFoundException or InvalidOperationException)
        {
            return new ToolObservation(name, "error: " + e.Message, true, "bad_arguments", 0);
        }
    }

    protected abstract Task<string> RunAsync(JsonElement arguments, CancellationToken cancellationToken);
}

/// <summary>calculator-evaluate: shunting-yard over long integers, exact division only.</summary>
internal sealed class LocalCalculator() : LocalExecutor("calculator-evaluate", "expression")
{
    public static long Evaluate(string expression)
    {
        var output = new Stack<long>();
        var ops = new Stack<char>();
        var expectOperand = true;
        for (var i = 0; i < expression.Length; i++)
        {
            var c = expression[i];
            if (c == ' ')
            {
                continue;
            }

            if (char.IsAsciiDigit(c))
            {
                var j = i;
                while (j < expression.Length && char.IsAsciiDigit(expression[j]))
                {
                    j++;
                }

                output.Push(long.Parse(expression[i..j], CultureInfo.InvariantCulture));
                i = j - 1;
                expectOperand = false;
            }
            else if (c == '(')
            {
                ops.Push(c);
                expectOperand = true;
            }
            else if (c == ')')
            {
                while (ops.Peek() != '(')
                {
                    Apply(output, ops.Pop());
                }

                ops.Pop();
                expectOperand = false;
            }
            else if (c == '-' && expectOperand)
            {
                output.Push(0);
                ops.Push('~');
            }
            else
            {
                while (ops.Count > 0 && ops.Peek() != '(' && Rank(ops.Peek()) >= Rank(c))
                {
                    Apply(output, ops.Pop());
                }

                ops.Push(c);
                expectOperand = true;
            }
        }

        while (ops.Count > 0)
        {
            Apply(output, ops.Pop());
        }

        return output.Single();
    }

    protected override Task<string> RunAsync(JsonElement arguments, CancellationToken cancellationToken) =>
        Task.FromResult(Evaluate(arguments.GetProperty("expression").GetString()!).ToString(CultureInfo.InvariantCulture));

    private static int Rank(char op) => op is '+' or '-' ? 1 : op == '~' ? 3 : 2;

    private static void Apply(Stack<long> output, char op)
    {
        var b = output.Pop();
        var a = output.Pop();
        output.Push(op switch
        {
            '+' => a + b,
            '-' or '~' => a - b,
            '*' => a * b,
            '/' when b != 0 && a % b == 0 => a / b,
            '/' => throw new ArithmeticException($"{a}/{b} is not exact"),
            _ => throw new FormatException($"bad operator {op}"),
        });
    }
}

/// <summary>
/// kb-search: Okapi BM25 (k1 = 1.5, b = 0.75) over title and text of the item's documents, tokens are lower-cased runs
/// of letters and digits, like the catalog's index; returns "[rank] title" and the text of the k best hits.
/// </summary>
internal sealed class LocalKbSearch(IReadOnlyList<KbDocument> documents) : LocalExecutor("kb-search", "query")
{
    private readonly List<string[]> _tokens = [.. documents.Select(d => Tokens(d.Title + " " + d.Text))];

    protected override Task<string> RunAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        var query = Tokens(arguments.GetProperty("query").GetString()!).Distinct().ToArray();
        var k = arguments.TryGetProperty("k", out var kValue) ? kValue.GetInt32() : 3;
        var averageLength = _tokens.Average(t => t.Length);
        double Score(int i) => query.Sum(term =>
        {
            var tf = _tokens[i].Count(t => t == term);
            var n = _tokens.Count(t => t.Contains(term));
            var idf = Math.Log(1 + ((_tokens.Count - n + 0.5) / (n + 0.5)));
            return tf == 0 ? 0 : idf * tf * 2.5 / (tf + (1.5 * (0.25 + (0.75 * _tokens[i].Length / averageLength))));
        });
        var hits = Enumerable.Range(0, documents.Count)
            .Select(i => (Index: i, Score: Score(i)))
            .Where(h => h.Score > 0)
            .OrderByDescending(h => h.Score)
            .ThenBy(h => h.Index)
            .Take(k)
            .Select((h, rank) => $"[{rank + 1}] {documents[h.Index].Title}\n{documents[h.Index].Text}");
        return Task.FromResult(string.Join("\n", hits));
    }

    private static string[] Tokens(string text) =>
        System.Text.RegularExpressions.Regex.Matches(text.ToLowerInvariant(), @"[\p{L}\p{Nd}]+").Select(m => m.Value).ToArray();
}

/// <summary>python-run: runs the code in a real python3 process and returns its stdout (stderr on failure).</summary>
internal sealed class LocalPython() : LocalExecutor("python-run", "code")
{
    // Resolved once: version-manager shims (pyenv) cost a second per start on a busy machine.
    private static readonly Lazy<string> Interpreter = new(() =>
    {
        using var probe = Process.Start(new ProcessStartInfo("python3", ["-c", "import sys; print(sys.executable)"]) { RedirectStandardOutput = true })!;
        var path = probe.StandardOutput.ReadToEnd().Trim();
        probe.WaitForExit();
        return path.Length > 0 ? path : "python3";
    });

    protected override async Task<string> RunAsync(JsonElement arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(Interpreter.Value, ["-I", "-S", "-c", arguments.GetProperty("code").GetString()!])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode == 0 ? (await stdout).Trim() : "error: " + (await stderr).Trim();
    }
}
