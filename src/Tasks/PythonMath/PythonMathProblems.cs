using System.Globalization;
using System.Numerics;

namespace AgentRl.Tasks.PythonMath;

/// <summary>
/// One family of python-math problems over integer arguments: how to sample them, which are valid, the question, the
/// true answer computed in C#, and a short Python program that prints the same answer.
/// </summary>
public sealed record PythonMathFamily(
    string Name,
    Func<Random, int, long[]> Sample,
    Func<long[], bool> IsValid,
    Func<long[], string> Prompt,
    Func<long[], string> Truth,
    Func<long[], string> Program);

/// <summary>The bundled python-math problem families.</summary>
public static class PythonMathProblems
{
    public static IReadOnlyList<PythonMathFamily> Families { get; } =
    [
        new(
            "count-divisible",
            (rng, scale) =>
            {
                var a = rng.Next(1, (scale / 2) + 1);
                var p = rng.Next(3, 14);
                var q = rng.Next(p + 1, 20);
                return [a, a + rng.Next(scale / 4, scale + 1), p, q];
            },
            x => x[0] >= 1 && x[1] >= x[0] && x[2] >= 2 && x[3] >= 2,
            x => F($"How many integers from {x[0]} to {x[1]} are divisible by {x[2]} or {x[3]}?"),
            x => Range(x[0], x[1]).Count(n => n % x[2] == 0 || n % x[3] == 0).ToString(CultureInfo.InvariantCulture),
            x => F($"print(sum(1 for n in range({x[0]}, {x[1]} + 1) if n % {x[2]} == 0 or n % {x[3]} == 0))")),
        new(
            "sum-squares",
            (rng, scale) =>
            {
                var a = rng.Next(1, (scale / 2) + 1);
                return [a, a + rng.Next(scale / 4, scale + 1)];
            },
            x => x[0] >= 1 && x[1] >= x[0],
            x => F($"What is the sum of n*n for every integer n from {x[0]} to {x[1]}?"),
            x => Range(x[0], x[1]).Sum(n => n * n).ToString(CultureInfo.InvariantCulture),
            x => F($"print(sum(n * n for n in range({x[0]}, {x[1]} + 1)))")),
        new(
            "count-primes",
            (rng, scale) =>
            {
                var a = rng.Next(1, scale + 1);
                return [a, a + rng.Next(scale / 4, scale + 1)];
            },
            x => x[0] >= 1 && x[1] >= x[0],
            x => F($"How many prime numbers are there from {x[0]} to {x[1]}?"),
            x => Range(x[0], x[1]).Count(IsPrime).ToString(CultureInfo.InvariantCulture),
            x => F($"print(sum(1 for n in range({x[0]}, {x[1]} + 1) if n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))))")),
        new(
            "days-between",
            (rng, scale) =>
            {
                var from = new DateOnly(1990, 1, 1).AddDays(rng.Next(0, 14_000));
                var to = from.AddDays(rng.Next(30, (scale * 5) + 1));
                return [from.Year, from.Month, from.Day, to.Year, to.Month, to.Day];
            },
            x => TryDate(x[0], x[1], x[2]) is { } from && TryDate(x[3], x[4], x[5]) is { } to && to > from,
            x => F($"How many days are there from {Date(x[0], x[1], x[2]):yyyy-MM-dd} to {Date(x[3], x[4], x[5]):yyyy-MM-dd}?"),
            x => (Date(x[3], x[4], x[5]).DayNumber - Date(x[0], x[1], x[2]).DayNumber).ToString(CultureInfo.InvariantCulture),
            x => F($"from datetime import date\nprint((date({x[3]}, {x[4]}, {x[5]}) - date({x[0]}, {x[1]}, {x[2]})).days)")),
        new(
            "digit-sum-power",
            (rng, scale) => [rng.Next(2, 10), rng.Next(20, 21 + (scale / 10))],
            x => x[0] >= 2 && x[1] >= 1 && x[1] <= 100_000,
            x => F($"What is the sum of the digits of {x[0]}**{x[1]}?"),
            x => BigInteger.Pow(x[0], (int)x[1]).ToString(CultureInfo.InvariantCulture).Sum(c => c - '0').ToString(CultureInfo.InvariantCulture),
            x => F($"print(sum(int(c) for c in str({x[0]} ** {x[1]})))")),
        new(
            "collatz-steps",
            (rng, scale) => [rng.Next(10, (scale * 10) + 1)],
            x => x[0] >= 2,
            x => F($"Starting at {x[0]}, repeat: halve n if even, else n = 3n + 1. How many steps until n is 1?"),
            x => CollatzSteps(x[0]).ToString(CultureInfo.InvariantCulture),
            x => F($"n, s = {x[0]}, 0\nwhile n != 1:\n    n = n // 2 if n % 2 == 0 else 3 * n + 1\n    s += 1\nprint(s)")),
    ];

    public static PythonMathFamily Get(string name) =>
        Families.FirstOrDefault(f => f.Name == name) ?? throw new ArgumentException($"Unknown python-math family '{name}'.", nameof(name));

    /// <summary>Arguments as stored in item metadata: comma-separated integers.</summary>
    public static string FormatArgs(IEnumerable<long> args) => string.Join(',', args.Select(a => a.ToString(CultureInfo.InvariantCulture)));

    public static long[] ParseArgs(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return [.. text.Split(',').Select(s => long.Parse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture))];
    }

    private static string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static IEnumerable<long> Range(long from, long to)
    {
        for (var n = from; n <= to; n++)
        {
            yield return n;
        }
    }

    private static bool IsPrime(long n)
    {
        if (n < 2)
        {
            return false;
        }

        for (long d = 2; d * d <= n; d++)
        {
            if (n % d == 0)
            {
                return false;
            }
        }

        return true;
    }

    private static int CollatzSteps(long n)
    {
        var steps = 0;
        while (n != 1)
        {
            n = n % 2 == 0 ? n / 2 : (3 * n) + 1;
            steps++;
        }

        return steps;
    }

    private static DateOnly? TryDate(long year, long month, long day) =>
        year is >= 1 and <= 9999 && month is >= 1 and <= 12 && day >= 1 && day <= DateTime.DaysInMonth((int)year, (int)month)
            ? new DateOnly((int)year, (int)month, (int)day)
            : null;

    private static DateOnly Date(long year, long month, long day) => new((int)year, (int)month, (int)day);
}
