using System.ComponentModel;
using AgentRl.Tools.Calculator;
using Microsoft.SemanticKernel;

namespace AgentRl.Tools.Plugins;

/// <summary>Exact arithmetic (<c>calculator-evaluate</c>); see <see cref="ExpressionEvaluator"/> for the grammar and output.</summary>
public sealed class CalculatorPlugin
{
    [KernelFunction("evaluate")]
    [Description(
        "Evaluates an arithmetic expression exactly. Supports integers, decimals, + - * / % (floored modulo), " +
        "^ or ** (integer powers, right-associative), parentheses and unary minus. Results are exact: an integer, " +
        "a terminating decimal, or a fraction with a rounded decimal.")]
    public string Evaluate(
        [Description("The expression, e.g. (1.5 + 2) * 3^2 / 7")] string expression) =>
        ExpressionEvaluator.Format(ExpressionEvaluator.Evaluate(expression));
}
