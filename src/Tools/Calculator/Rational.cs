using System.Globalization;
using System.Numerics;
using System.Text;

namespace AgentRl.Tools.Calculator;

/// <summary>
/// An exact rational number: <see cref="Numerator"/> / <see cref="Denominator"/> in lowest terms with a positive
/// denominator. Used by <see cref="ExpressionEvaluator"/> so that <c>0.1 + 0.2</c> is exactly <c>0.3</c>.
/// </summary>
public readonly record struct Rational
{
    public Rational(BigInteger numerator, BigInteger denominator)
    {
        if (denominator.IsZero)
        {
            throw new DivideByZeroException();
        }

        if (denominator.Sign < 0)
        {
            numerator = -numerator;
            denominator = -denominator;
        }

        var gcd = BigInteger.GreatestCommonDivisor(numerator, denominator);
        if (!gcd.IsOne && !gcd.IsZero)
        {
            numerator /= gcd;
            denominator /= gcd;
        }

        Numerator = numerator;
        Denominator = numerator.IsZero ? BigInteger.One : denominator;
    }

    public BigInteger Numerator { get; }

    public BigInteger Denominator { get; }

    public bool IsInteger => Denominator.IsOne;

    public bool IsZero => Numerator.IsZero;

    /// <summary>Bits needed for numerator and denominator together: the size guard of the evaluator.</summary>
    public long SizeInBits => Numerator.GetBitLength() + Denominator.GetBitLength();

    public static Rational Zero => new(BigInteger.Zero, BigInteger.One);

    public static Rational FromInteger(BigInteger value) => new(value, BigInteger.One);

    public static Rational operator +(Rational a, Rational b) =>
        new((a.Numerator * b.Denominator) + (b.Numerator * a.Denominator), a.Denominator * b.Denominator);

    public static Rational operator -(Rational a, Rational b) =>
        new((a.Numerator * b.Denominator) - (b.Numerator * a.Denominator), a.Denominator * b.Denominator);

    public static Rational operator -(Rational a) => new(-a.Numerator, a.Denominator);

    public static Rational operator *(Rational a, Rational b) =>
        new(a.Numerator * b.Numerator, a.Denominator * b.Denominator);

    /// <exception cref="DivideByZeroException">When <paramref name="b"/> is zero.</exception>
    public static Rational operator /(Rational a, Rational b) =>
        new(a.Numerator * b.Denominator, a.Denominator * b.Numerator);

    /// <summary>Floored modulo (the result has the sign of the divisor, as in Python): a − b·⌊a/b⌋.</summary>
    /// <exception cref="DivideByZeroException">When <paramref name="b"/> is zero.</exception>
    public static Rational operator %(Rational a, Rational b)
    {
        var quotient = a / b;
        return a - (b * FromInteger(Floor(quotient)));
    }

    /// <summary>⌊value⌋ as an integer.</summary>
    public static BigInteger Floor(Rational value)
    {
        var quotient = BigInteger.DivRem(value.Numerator, value.Denominator, out var remainder);
        return remainder.Sign < 0 ? quotient - 1 : quotient;
    }

    /// <summary>Raises to an integer power; a negative exponent gives the reciprocal power.</summary>
    /// <exception cref="DivideByZeroException">Zero to a negative power.</exception>
    public static Rational Pow(Rational value, int exponent)
    {
        if (exponent >= 0)
        {
            return new Rational(BigInteger.Pow(value.Numerator, exponent), BigInteger.Pow(value.Denominator, exponent));
        }

        return new Rational(BigInteger.Pow(value.Denominator, -exponent), BigInteger.Pow(value.Numerator, -exponent));
    }

    /// <summary>
    /// Whether the decimal expansion terminates: the denominator has no prime factors other than 2 and 5.
    /// </summary>
    public bool HasTerminatingDecimal
    {
        get
        {
            var d = Denominator;
            while (d.IsEven)
            {
                d >>= 1;
            }

            while ((d % 5).IsZero)
            {
                d /= 5;
            }

            return d.IsOne;
        }
    }

    /// <summary>
    /// The exact decimal expansion when it terminates (<c>12.375</c>), otherwise the value rounded half away from
    /// zero to <paramref name="maxFractionDigits"/> digits after the point.
    /// </summary>
    public string ToDecimalString(int maxFractionDigits)
    {
        var negative = Numerator.Sign < 0;
        var absNumerator = BigInteger.Abs(Numerator);
        var integerPart = BigInteger.DivRem(absNumerator, Denominator, out var remainder);
        var digits = new StringBuilder();
        for (var i = 0; i < maxFractionDigits && !remainder.IsZero; i++)
        {
            remainder *= 10;
            var digit = BigInteger.DivRem(remainder, Denominator, out remainder);
            digits.Append((char)('0' + (int)digit));
        }

        if (!remainder.IsZero && remainder * 2 >= Denominator)
        {
            // Round half away from zero on the magnitude: propagate the carry through the digits.
            var chars = digits.ToString().ToCharArray();
            var carry = true;
            for (var i = chars.Length - 1; i >= 0 && carry; i--)
            {
                if (chars[i] == '9')
                {
                    chars[i] = '0';
                }
                else
                {
                    chars[i]++;
                    carry = false;
                }
            }

            if (carry)
            {
                integerPart += 1;
            }

            digits.Clear().Append(chars);
        }

        var fraction = digits.ToString().TrimEnd('0');
        var text = integerPart.ToString(CultureInfo.InvariantCulture) + (fraction.Length > 0 ? "." + fraction : string.Empty);
        var isZero = integerPart.IsZero && fraction.Length == 0;
        return negative && !isZero ? "-" + text : text;
    }

    /// <summary><c>p/q</c> in lowest terms, or just <c>p</c> for an integer.</summary>
    public override string ToString() =>
        IsInteger
            ? Numerator.ToString(CultureInfo.InvariantCulture)
            : Numerator.ToString(CultureInfo.InvariantCulture) + "/" + Denominator.ToString(CultureInfo.InvariantCulture);
}
