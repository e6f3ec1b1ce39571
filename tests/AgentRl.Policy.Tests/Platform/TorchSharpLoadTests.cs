using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Platform;

public sealed class TorchSharpLoadTests
{
    [Fact]
    public void Matmul_OnCpu_MatchesHandComputedProduct()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new float[] { 1, 2, 3, 4 }, [2, 2]);   // [2, 2]
        var b = tensor(new float[] { 5, 6, 7, 8 }, [2, 2]);   // [2, 2]
        var c = matmul(a, b);                                  // [2, 2]
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
    }

    [Fact]
    public void Backward_OnSquare_GivesTwiceTheInput()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { 1.5f, -2f }, requires_grad: true);
        x.pow(2).sum().backward();
        Assert.Equal(new float[] { 3f, -4f }, x.grad!.data<float>().ToArray());
    }
}
