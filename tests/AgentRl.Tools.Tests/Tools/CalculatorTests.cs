using AgentRl.Tools.Calculator;
using AgentRl.Tools.Plugins;

namespace AgentRl.Tools.Tests.Tools;

public sealed class CalculatorTests
{
    [Theory]
    [InlineData("1 + 2 * 3", "7")]
    [InlineData("(1 + 2) * 3", "9")]
    [InlineData("10 - 4 - 3", "3")] // left-associative
    [InlineData("2 ^ 3 ^ 2", "512")] // right-associative: 2^9
    [InlineData("2 ** 10", "1024")]
    [InlineData("-2 ^ 2", "-4")] // unary minus binds looser than power
    [InlineData("(-2) ^ 2", "4")]
    [InlineData("2 ^ -2", "0.25")]
    [InlineData("--3", "3")]
    [InlineData("-(3 - 5) * +2", "4")]
    [InlineData("0.1 + 0.2", "0.3")] // exact, not 0.30000000000000004
    [InlineData("1 / 8", "0.125")]
    [InlineData("7 / 2", "3.5")]
    [InlineData("6 / 3", "2")]
    [InlineData("1 / 3", "1/3 ≈ 0.33333333333333333333")]
    [InlineData("2 / 3", "2/3 ≈ 0.66666666666666666667")] // rounded half away from zero
    [InlineData("-2 / 3", "-2/3 ≈ -0.66666666666666666667")]
    [InlineData("7 % 3", "1")]
    [InlineData("-7 % 3", "2")] // floored: sign of the divisor
    [InlineData("7 % -3", "-2")]
    [InlineData("5.5 % 2", "1.5")]
    [InlineData("2 * 3 % 4", "2")] // same precedence, left to right
    [InlineData("12345678901234567890 * 98765432109876543210", "1219326311370217952237463801111263526900")]
    [InlineData(".5 + 1.", "1.5")]
    [InlineData("  ( ( 4 ) )  ", "4")]
    [InlineData("1.50 * 2", "3")]
    public void Evaluate_HandComputedExpression_GivesExactResult(string expression, string expected)
    {
        Assert.Equal(expected, new CalculatorPlugin().Evaluate(expression));
    }

    [Theory]
    [InlineData("1 / 0", "division by zero at position 3")]
    [InlineData("5 % (2 - 2)", "division by zero at position 3")]
    [InlineData("0 ^ -1", "division by zero")]
    [InlineData("2 +", "expression ended at position 4")]
    [InlineData("2 * (3 + 4", "missing ')' for '(' at position 5")]
    [InlineData("2 $ 3", "unexpected '$' at position 3")]
    [InlineData("abs(2)", "unexpected 'a'")]
    [InlineData("1.2.3", "unexpected '.' after number at position 4")]
    [InlineData("4 ^ 0.5", "fractional exponent 1/2 at position 3")]
    [InlineData("2 ^ 1000000", "exponent 1000000 at position 3 is too large")]
    [InlineData("10 ^ 99999 * 10 ^ 99999", "too large")]
    [InlineData("", "empty expression")]
    [InlineData("3 4", "unexpected '4' at position 3")]
    public void Evaluate_InvalidInput_ThrowsClearMessageWithPosition(string expression, string expectedFragment)
    {
        var ex = Assert.Throws<CalculatorException>(() => ExpressionEvaluator.Evaluate(expression));
        Assert.Contains(expectedFragment, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_DeepNesting_IsRejectedWithoutStackOverflow()
    {
        var expression = new string('(', 5000) + "1" + new string(')', 5000);
        var ex = Assert.Throws<CalculatorException>(() => ExpressionEvaluator.Evaluate(expression));
        Assert.Contains("too long", ex.Message, StringComparison.Ordinal);

        var nested = new string('(', 1000) + "1" + new string(')', 1000);
        var deep = Assert.Throws<CalculatorException>(() => ExpressionEvaluator.Evaluate(nested));
        Assert.Contains("nested too deeply", deep.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rational_Arithmetic_StaysInLowestTerms()
    {
        var value = ExpressionEvaluator.Evaluate("6/4 - 1/4");
        Assert.Equal(5, (int)value.Numerator);
        Assert.Equal(4, (int)value.Denominator);
        Assert.Equal("5/4", value.ToString());
    }
}
