using System.Globalization;
using System.Text;

namespace AgentRl.Tasks.Arithmetic;

/// <summary>
/// Integer expressions over + − × ÷ with parentheses: a seeded generator whose divisions are always exact,
/// and an evaluator (recursive descent, 64-bit, exact division only).
/// </summary>
public static class ArithmeticExpression
{
    private abstract record Node(long Value);

    private sealed record Number(long Value) : Node(Value);

    private sealed record Binary(char Op, Node Left, Node Right, long Result) : Node(Result);

    /// <summary>
    /// A random expression with between MinOperations and MaxOperations operations whose result and intermediate
    /// values stay within MaxAbsValue; returns the text and its value.
    /// </summary>
    public static (string Expression, long Value) Generate(Random rng, ArithmeticOptions options)
    {
        ArgumentNullException.ThrowIfNull(rng);
        ArgumentNullException.ThrowIfNull(options);
        for (var attempt = 0; attempt < 10_000; attempt++)
        {
            var operations = rng.Next(options.MinOperations, options.MaxOperations + 1);
            var node = Build(rng, operations, options);
            if (node is not null)
            {
                return (Render(node), node.Value);
            }
        }

        throw new InvalidOperationException("Could not generate an expression within MaxAbsValue; raise it or lower the digits.");
    }

    /// <summary>Evaluates an integer expression. Throws <see cref="FormatException"/> on bad syntax and
    /// <see cref="ArithmeticException"/> on division by zero, inexact division or overflow.</summary>
    public static long Evaluate(string expression) => Parse(expression).Value;

    /// <summary>
    /// The expression worked one binary operation at a time, as a careful agent with a calculator would: each step is
    /// the leftmost operation whose operands are both numbers, written <c>a op b</c> (a negative right operand in
    /// parentheses), and its value replaces it for the next step. A lone number has no steps; the last step's value is
    /// the expression's. Throws as <see cref="Evaluate"/> does.
    /// </summary>
    public static IReadOnlyList<(string Expression, long Value)> Steps(string expression)
    {
        var steps = new List<(string, long)>();
        var node = Parse(expression);
        while (node is not Number)
        {
            node = Reduce(node, steps);
        }

        return steps;
    }

    /// <summary>True when <paramref name="expression"/> evaluates; the value comes out.</summary>
    public static bool TryEvaluate(string expression, out long value)
    {
        try
        {
            value = Evaluate(expression);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArithmeticException)
        {
            value = 0;
            return false;
        }
    }

    private static Node? Build(Random rng, int operations, ArithmeticOptions options)
    {
        if (operations == 0)
        {
            return new Number(Operand(rng, options));
        }

        var ops = options.AllowDivision ? "+-*/" : "+-*";
        var op = ops[rng.Next(ops.Length)];
        if (op == '/')
        {
            // The divisor is a literal dividing the left value, so the division is exact.
            var dividend = Build(rng, operations - 1, options);
            if (dividend is null)
            {
                return null;
            }

            var divisor = PickDivisor(rng, dividend.Value, options);
            if (divisor is { } d)
            {
                return new Binary('/', dividend, new Number(d), dividend.Value / d);
            }

            op = "+-*"[rng.Next(3)];
            var other = new Number(Operand(rng, options));
            return rng.Next(2) == 0 ? Combine(op, dividend, other, options) : Combine(op, other, dividend, options);
        }

        var leftOperations = rng.Next(operations);
        var left = Build(rng, leftOperations, options);
        var right = Build(rng, operations - 1 - leftOperations, options);
        return left is null || right is null ? null : Combine(op, left, right, options);
    }

    private static Binary? Combine(char op, Node left, Node right, ArithmeticOptions options)
    {
        try
        {
            var combined = Apply(op, left, right);
            return Math.Abs(combined.Value) <= options.MaxAbsValue ? combined : null;
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    private static long? PickDivisor(Random rng, long dividend, ArithmeticOptions options)
    {
        var limit = Pow10(options.MaxDigits) - 1;
        var preferredMin = Math.Max(2, Pow10(options.MinDigits - 1));
        var magnitude = Math.Abs(dividend);
        if (magnitude < 4)
        {
            return null;
        }

        var divisors = new List<long>();
        var fallback = new List<long>();
        for (long d = 2; d * d <= magnitude; d++)
        {
            if (magnitude % d != 0)
            {
                continue;
            }

            foreach (var candidate in new[] { d, magnitude / d })
            {
                if (candidate < magnitude && candidate <= limit)
                {
                    (candidate >= preferredMin ? divisors : fallback).Add(candidate);
                }
            }
        }

        var pool = divisors.Count > 0 ? divisors : fallback;
        return pool.Count == 0 ? null : pool[rng.Next(pool.Count)];
    }

    private static long Operand(Random rng, ArithmeticOptions options)
    {
        var digits = rng.Next(options.MinDigits, options.MaxDigits + 1);
        var low = digits == 1 ? 2 : Pow10(digits - 1);
        return rng.NextInt64(low, Pow10(digits));
    }

    private static long Pow10(int digits)
    {
        var value = 1L;
        for (var i = 0; i < digits; i++)
        {
            value *= 10;
        }

        return value;
    }

    private static int Precedence(Node node) => node is Binary b ? (b.Op is '+' or '-' ? 1 : 2) : 3;

    private static string Render(Node node)
    {
        if (node is Number n)
        {
            return n.Value.ToString(CultureInfo.InvariantCulture);
        }

        var b = (Binary)node;
        var precedence = Precedence(b);
        var left = Render(b.Left);
        var right = Render(b.Right);
        if (Precedence(b.Left) < precedence)
        {
            left = $"({left})";
        }

        // Same-precedence right operands keep their parentheses unless the operator is + or * with the same op.
        var rightPrecedence = Precedence(b.Right);
        if (rightPrecedence < precedence
            || (rightPrecedence == precedence && !(b.Right is Binary r && r.Op == b.Op && b.Op is ('+' or '*'))))
        {
            right = $"({right})";
        }

        return new StringBuilder(left).Append(OperatorText(b.Op)).Append(right).ToString();
    }

    /// <summary>An operator as expressions are written: one space on each side.</summary>
    private static string OperatorText(char op) => op switch
    {
        '*' => " * ",
        '/' => " / ",
        '+' => " + ",
        _ => " - ",
    };

    private static Node Parse(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var parser = new Parser(expression);
        var node = parser.ParseSum();
        parser.SkipSpaces();
        if (!parser.AtEnd)
        {
            throw new FormatException($"Unexpected '{expression[parser.Position]}' at position {parser.Position}.");
        }

        return node;
    }

    /// <summary>Folds the leftmost operation whose operands are numbers, recording it as a step.</summary>
    private static Node Reduce(Node node, List<(string, long)> steps)
    {
        switch (node)
        {
            case Binary { Left: Number a, Right: Number b } ready:
                var right = b.Value < 0 ? $"({b.Value.ToString(CultureInfo.InvariantCulture)})" : b.Value.ToString(CultureInfo.InvariantCulture);
                steps.Add((a.Value.ToString(CultureInfo.InvariantCulture) + OperatorText(ready.Op) + right, ready.Value));
                return new Number(ready.Value);
            case Binary b when b.Left is not Number:
                return b with { Left = Reduce(b.Left, steps) };
            case Binary b:
                return b with { Right = Reduce(b.Right, steps) };
            default:
                return node;
        }
    }

    private static Binary Apply(char op, Node left, Node right)
    {
        var value = op switch
        {
            '+' => checked(left.Value + right.Value),
            '-' => checked(left.Value - right.Value),
            '*' => checked(left.Value * right.Value),
            _ => right.Value == 0 || left.Value % right.Value != 0
                ? throw new ArithmeticException($"{left.Value} / {right.Value} is not an exact integer division.")
                : left.Value / right.Value,
        };
        return new Binary(op, left, right, value);
    }

    /// <summary>Recursive descent to a tree: sums of products of unary terms; a negated number is a negative number.</summary>
    private sealed class Parser(string text)
    {
        public int Position { get; private set; }

        public bool AtEnd => Position >= text.Length;

        public void SkipSpaces()
        {
            while (!AtEnd && char.IsWhiteSpace(text[Position]))
            {
                Position++;
            }
        }

        public Node ParseSum()
        {
            var node = ParseProduct();
            while (true)
            {
                SkipSpaces();
                if (AtEnd || (text[Position] != '+' && text[Position] != '-'))
                {
                    return node;
                }

                var op = text[Position++];
                node = Apply(op, node, ParseProduct());
            }
        }

        private Node ParseProduct()
        {
            var node = ParseUnary();
            while (true)
            {
                SkipSpaces();
                if (AtEnd || (text[Position] != '*' && text[Position] != '/'))
                {
                    return node;
                }

                var op = text[Position++];
                node = Apply(op, node, ParseUnary());
            }
        }

        private Node ParseUnary()
        {
            SkipSpaces();
            if (!AtEnd && text[Position] == '-')
            {
                Position++;
                var operand = ParseUnary();
                return operand is Number n ? new Number(checked(-n.Value)) : Apply('-', new Number(0), operand);
            }

            if (!AtEnd && text[Position] == '(')
            {
                Position++;
                var node = ParseSum();
                SkipSpaces();
                if (AtEnd || text[Position] != ')')
                {
                    throw new FormatException($"Expected ')' at position {Position}.");
                }

                Position++;
                return node;
            }

            var start = Position;
            while (!AtEnd && char.IsAsciiDigit(text[Position]))
            {
                Position++;
            }

            if (start == Position)
            {
                throw new FormatException(AtEnd ? "Unexpected end of expression." : $"Unexpected '{text[Position]}' at position {Position}.");
            }

            return new Number(long.Parse(text.AsSpan(start, Position - start), NumberStyles.None, CultureInfo.InvariantCulture));
        }
    }
}
