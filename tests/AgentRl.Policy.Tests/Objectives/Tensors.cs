using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Objectives;

/// <summary>Small tensor builders and assertions for the objective tests.</summary>
internal static class Tensors
{
    /// <summary>A [rows, cols] float tensor from row-major values.</summary>
    public static Tensor Matrix(int rows, int cols, params float[] values) => tensor(values, [rows, cols]);

    /// <summary>A [rows, cols] float tensor with gradient.</summary>
    public static Tensor Leaf(int rows, int cols, params float[] values) => tensor(values, [rows, cols], requires_grad: true);

    public static float[] Values(Tensor t) => t.detach().contiguous().data<float>().ToArray();

    public static void Close(IReadOnlyList<float> expected, IReadOnlyList<float> actual, double tolerance = 1e-5)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(
                Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"index {i}: expected {expected[i]}, actual {actual[i]} (tolerance {tolerance})");
        }
    }

    public static void Close(double expected, double actual, double tolerance = 1e-5) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"expected {expected}, actual {actual} (tolerance {tolerance})");

    public static void Close(double expected, Tensor scalar, double tolerance = 1e-5) =>
        Close(expected, scalar.detach().item<float>(), tolerance);
}
