using System.Globalization;
using System.Numerics;

namespace AgentRl.Tools.Calculator;

/// <summary>A calculator input that cannot be evaluated; <see cref="Position"/> is the 1-based column, 0 when none.</summary>
public sealed class CalculatorException(string message, int position) : Exception(message)
{
    public int Position { get; } = position;
}

/// <summary>
/// Exact arithmetic over rationals with a recursive-descent parser (never an <c>eval</c>).
/// <para>Grammar, loosest first:</para>
/// <code>
/// expression := term (('+' | '-') term)*
/// term       := unary (('*' | '/' | '%') unary)*
/// unary      := ('-' | '+') unary | power
/// power      := primary (('^' | '**') unary)?        right-associative: 2^3^2 = 2^9
/// primary    := number | '(' expression ')'
/// number     := digits ['.' digits] | '.' digits
/// </code>
/// <para>
/// Unary minus binds looser than power, as in mathematics: <c>-2^2 = -4</c>, <c>2^-1 = 1/2</c>.
/// <c>%</c> is floored modulo (sign of the divisor, as in Python): <c>-7 % 3 = 2</c>, and works on decimals.
/// Exponents must evaluate to integers; a negative integer exponent gives the reciprocal; a fractional exponent is
/// an error because the result would not be rational in general. Guards: |exponent| ≤ <see cref="MaxExponent"/>,
/// every intermediate value at most <see cref="MaxBits"/> bits (numerator + denominator), input at most
/// <see cref="MaxInputLength"/> characters and <see cref="MaxDepth"/> nested levels.
/// </para>
/// </summary>
public sealed class ExpressionEvaluator
{
    public const int MaxInputLength = 4096;
    public const int MaxDepth = 200;
    public const int MaxExponent = 100_000;
    public const long MaxBits = 200_000;

    /// <summary>Digits after the point shown for a non-terminating result.</summary>
    public const int ApproximationDigits = 20;

    private readonly string _text;
    private int _pos;
    private int _depth;

    private ExpressionEvaluator(string text) => _text = text;

    /// <summary>Evaluates <paramref name="expression"/> exactly.</summary>
    /// <exception cref="CalculatorException">Syntax errors, division by zero, size guards; the message names the position.</exception>
    public static Rational Evaluate(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        if (expression.Length > MaxInputLength)
        {
            throw new CalculatorException($"expression is too long ({expression.Length} characters, at most {MaxInputLength})", 0);
        }

        var evaluator = new ExpressionEvaluator(expression);
        evaluator.SkipSpaces();
        if (evaluator.AtEnd)
        {
            throw new CalculatorException("empty expression", 0);
        }

        var value = evaluator.ParseExpression();
        evaluator.SkipSpaces();
        if (!evaluator.AtEnd)
        {
            throw evaluator.Error($"unexpected '{evaluator.Current}'");
        }

        return value;
    }

    /// <summary>
    /// How a result is printed: an integer (<c>42</c>), an exact decimal when the expansion terminates
    /// (<c>0.375</c>), otherwise the exact fraction and a rounded decimal (<c>1/3 ≈ 0.33333333333333333333</c>,
    /// rounded half away from zero to <see cref="ApproximationDigits"/> places).
    /// </summary>
    public static string Format(Rational value)
    {
        if (value.IsInteger)
        {
            return value.Numerator.ToString(CultureInfo.InvariantCulture);
        }

        if (value.HasTerminatingDecimal)
        {
            // A terminating expansion has at most max(power of 2, power of 5) digits: bounded by the bit size.
            return value.ToDecimalString(int.MaxValue);
        }

        return value + " ≈ " + value.ToDecimalString(ApproximationDigits);
    }

    private bool AtEnd => _pos >= _text.Length;

    private char Current => _text[_pos];

    private Rational ParseExpression()
    {
        Enter();
        var value = ParseTerm();
        while (true)
        {
            SkipSpaces();
            if (AtEnd || (Current != '+' && Current != '-'))
            {
                break;
            }

            var op = Current;
            var opPos = _pos;
            _pos++;
            var right = ParseTerm();
            value = Guard(op == '+' ? value + right : value - right, opPos);
        }

        _depth--;
        return value;
    }

    private Rational ParseTerm()
    {
        var value = ParseUnary();
        while (true)
        {
            SkipSpaces();
            if (AtEnd || (Current != '*' && Current != '/' && Current != '%') || IsPowerStar())
            {
                break;
            }

            var op = Current;
            var opPos = _pos;
            _pos++;
            var right = ParseUnary();
            if (op != '*' && right.IsZero)
            {
                throw new CalculatorException($"division by zero at position {opPos + 1}", opPos + 1);
            }

            value = Guard(op switch { '*' => value * right, '/' => value / right, _ => value % right }, opPos);
        }

        return value;
    }

    private Rational ParseUnary()
    {
        SkipSpaces();
        if (!AtEnd && (Current == '-' || Current == '+'))
        {
            var negate = Current == '-';
            _pos++;
            Enter();
            var operand = ParseUnary();
            _depth--;
            return negate ? -operand : operand;
        }

        return ParsePower();
    }

    private Rational ParsePower()
    {
        var value = ParsePrimary();
        SkipSpaces();
        if (AtEnd || (Current != '^' && !IsPowerStar()))
        {
            return value;
        }

        var opPos = _pos;
        _pos += Current == '^' ? 1 : 2;
        Enter();
        var exponent = ParseUnary(); // right-associative: the exponent may itself be a power or a negation
        _depth--;
        if (!exponent.IsInteger)
        {
            throw new CalculatorException(
                $"fractional exponent {exponent} at position {opPos + 1}: only integer exponents give exact results",
                opPos + 1);
        }

        if (BigInteger.Abs(exponent.Numerator) > MaxExponent)
        {
            throw new CalculatorException(
                $"exponent {exponent.Numerator} at position {opPos + 1} is too large (at most {MaxExponent} in magnitude)",
                opPos + 1);
        }

        var power = (int)exponent.Numerator;
        if (value.IsZero && power < 0)
        {
            throw new CalculatorException($"division by zero: 0 raised to a negative power at position {opPos + 1}", opPos + 1);
        }

        // Estimate the size before computing so that 10^99999 * ... cannot allocate gigabytes.
        var estimatedBits = value.SizeInBits * (long)Math.Abs(power);
        if (estimatedBits > MaxBits * 2)
        {
            throw new CalculatorException(
                $"result of '^' at position {opPos + 1} is too large (about {estimatedBits} bits, at most {MaxBits})",
                opPos + 1);
        }

        return Guard(Rational.Pow(value, power), opPos);
    }

    private Rational ParsePrimary()
    {
        SkipSpaces();
        if (AtEnd)
        {
            throw Error("expected a number or '(' but the expression ended");
        }

        if (Current == '(')
        {
            var open = _pos;
            _pos++;
            var inner = ParseExpression();
            SkipSpaces();
            if (AtEnd || Current != ')')
            {
                throw new CalculatorException($"missing ')' for '(' at position {open + 1}", open + 1);
            }

            _pos++;
            return inner;
        }

        if (char.IsAsciiDigit(Current) || Current == '.')
        {
            return ParseNumber();
        }

        throw Error($"unexpected '{Current}', expected a number or '('");
    }

    private Rational ParseNumber()
    {
        var start = _pos;
        while (!AtEnd && char.IsAsciiDigit(Current))
        {
            _pos++;
        }

        var integerDigits = _text[start.._pos];
        var fractionDigits = string.Empty;
        if (!AtEnd && Current == '.')
        {
            _pos++;
            var fractionStart = _pos;
            while (!AtEnd && char.IsAsciiDigit(Current))
            {
                _pos++;
            }

            fractionDigits = _text[fractionStart.._pos];
            if (integerDigits.Length == 0 && fractionDigits.Length == 0)
            {
                throw new CalculatorException($"malformed number at position {start + 1}", start + 1);
            }
        }

        if (!AtEnd && (Current == '.' || char.IsAsciiLetter(Current)))
        {
            throw Error($"unexpected '{Current}' after number");
        }

        var digits = integerDigits + fractionDigits;
        var numerator = BigInteger.Parse(digits.Length == 0 ? "0" : digits, NumberStyles.None, CultureInfo.InvariantCulture);
        var denominator = BigInteger.Pow(10, fractionDigits.Length);
        return new Rational(numerator, denominator);
    }

    private bool IsPowerStar() => _pos + 1 < _text.Length && _text[_pos] == '*' && _text[_pos + 1] == '*';

    private Rational Guard(Rational value, int opPos)
    {
        if (value.SizeInBits > MaxBits)
        {
            throw new CalculatorException(
                $"intermediate result at position {opPos + 1} is too large ({value.SizeInBits} bits, at most {MaxBits})",
                opPos + 1);
        }

        return value;
    }

    private void Enter()
    {
        if (++_depth > MaxDepth)
        {
            throw Error($"expression is nested too deeply (more than {MaxDepth} levels)");
        }
    }

    private void SkipSpaces()
    {
        while (!AtEnd && char.IsWhiteSpace(Current))
        {
            _pos++;
        }
    }

    private CalculatorException Error(string message) => new($"{message} at position {_pos + 1}", _pos + 1);
}
