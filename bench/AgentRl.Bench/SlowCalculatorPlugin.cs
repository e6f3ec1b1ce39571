using System.ComponentModel;
using AgentRl.Tools.Calculator;
using Microsoft.SemanticKernel;

namespace AgentRl.Bench;

/// <summary>
/// The calculator behind a heavy-tailed delay, for <c>agentrl-bench async</c>: each call waits a Pareto-distributed time
/// (minimum <see cref="MinMs"/>, shape <see cref="Alpha"/>, capped at <see cref="MaxMs"/>), as a remote tool or a slow
/// sandbox would, then evaluates exactly as <c>calculator-evaluate</c>. Registered under the name <c>calculator</c> so the
/// arithmetic task calls it unchanged.
/// </summary>
public sealed class SlowCalculatorPlugin
{
    public static double MinMs { get; set; } = 50;

    public static double MaxMs { get; set; } = 3000;

    public static double Alpha { get; set; } = 1.1;

    /// <summary>Off: no delay (the warm start's demonstrations call the calculator too, and are not what is measured).</summary>
    public static bool Enabled { get; set; }

    /// <summary>Total delay slept by every call so far, in milliseconds (the bench reports the mean per call).</summary>
    public static long SleptMs => Interlocked.Read(ref _sleptMs);

    public static long Calls => Interlocked.Read(ref _calls);

    private static long _sleptMs;
    private static long _calls;

    [KernelFunction("evaluate")]
    [Description(
        "Evaluates an arithmetic expression exactly. Supports integers, decimals, + - * / % (floored modulo), " +
        "^ or ** (integer powers, right-associative), parentheses and unary minus. Results are exact: an integer, " +
        "a terminating decimal, or a fraction with a rounded decimal.")]
    public async Task<string> EvaluateAsync(
        [Description("The expression, e.g. (1.5 + 2) * 3^2 / 7")] string expression)
    {
        var delay = Enabled ? Math.Min(MaxMs, MinMs * Math.Pow(1 - Random.Shared.NextDouble(), -1 / Alpha)) : 0;
        Interlocked.Add(ref _sleptMs, (long)delay);
        Interlocked.Increment(ref _calls);
        if (delay > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(delay));
        }

        return ExpressionEvaluator.Format(ExpressionEvaluator.Evaluate(expression));
    }
}
