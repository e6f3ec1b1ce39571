using AgentRl.Policy.Training;
using static TorchSharp.torch;

namespace AgentRl.Policy.Tests.Trainer;

public sealed class AdamWTests
{
    [Fact]
    public void Step_ThreeSteps_MatchesTorchAdamW()
    {
        using var ours = new TorchSharp.Modules.Parameter(tensor(new float[] { 0.5f, -1.5f, 2.0f, 0.1f }, [2, 2]));
        using var theirs = new TorchSharp.Modules.Parameter(tensor(new float[] { 0.5f, -1.5f, 2.0f, 0.1f }, [2, 2]));
        using var weights = tensor(new float[] { 1f, 3f, -2f, 0.5f }, [2, 2]);
        using var optimizer = new AdamW([("w", ours)], (_, _) => true, 0.9, 0.95, 1e-8, 0.1);
        using var reference = optim.AdamW([theirs], lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weight_decay: 0.1);

        for (var step = 0; step < 3; step++)
        {
            foreach (var p in new[] { ours, theirs })
            {
                using var scope = NewDisposeScope();
                p.grad?.zero_();
                (p.square() * weights).sum().backward();
            }
            optimizer.Step(0.01);
            reference.step();
        }

        var a = ours.detach().data<float>().ToArray();
        var b = theirs.detach().data<float>().ToArray();
        for (var i = 0; i < a.Length; i++)
        {
            Assert.Equal(b[i], a[i], 6);
        }
        Assert.Equal(3, optimizer.StepCount);
        Assert.NotEqual(0.5f, a[0]);
    }
}
