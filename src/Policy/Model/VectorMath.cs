using System.Numerics;
using System.Runtime.CompilerServices;

namespace AgentRl.Policy.Model;

/// <summary>The vectorised reductions the managed decoder and sampler share (softmax and log-softmax building blocks).</summary>
internal static class VectorMath
{
    /// <summary>Largest element (−∞ for an empty span).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Max(ReadOnlySpan<float> x)
    {
        var width = Vector<float>.Count;
        var maxes = new Vector<float>(float.NegativeInfinity);
        var i = 0;
        for (; i + width <= x.Length; i += width)
        {
            maxes = Vector.Max(maxes, new Vector<float>(x[i..]));
        }

        var max = float.NegativeInfinity;
        for (var lane = 0; lane < width; lane++)
        {
            max = MathF.Max(max, maxes[lane]);
        }

        for (; i < x.Length; i++)
        {
            max = MathF.Max(max, x[i]);
        }

        return max;
    }

    /// <summary>destination = exp(x − shift), returning its sum (<paramref name="destination"/> may be <paramref name="x"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float ExpShifted(ReadOnlySpan<float> x, float shift, Span<float> destination)
    {
        var width = Vector<float>.Count;
        var shifts = new Vector<float>(shift);
        var sums = Vector<float>.Zero;
        var i = 0;
        for (; i + width <= x.Length; i += width)
        {
            var e = Vector.Exp(new Vector<float>(x[i..]) - shifts);
            e.CopyTo(destination[i..]);
            sums += e;
        }

        var sum = Vector.Sum(sums);
        for (; i < x.Length; i++)
        {
            var e = MathF.Exp(x[i] - shift);
            destination[i] = e;
            sum += e;
        }

        return sum;
    }
}
