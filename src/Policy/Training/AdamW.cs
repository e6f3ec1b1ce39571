using static TorchSharp.torch;
using Parameter = TorchSharp.Modules.Parameter;

namespace AgentRl.Policy.Training;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter; the update of <c>torch.optim.AdamW</c>, amsgrad off) with its state in plain view, so
/// that it can be saved and restored bit-exactly. Per parameter p with gradient g, at step t (1-based):
/// <code>
/// p ← p·(1 − lr·λ)                         (λ = 0 for parameters excluded from decay)
/// m ← β1·m + (1 − β1)·g
/// v ← β2·v + (1 − β2)·g²
/// p ← p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
/// </code>
/// Parameters without a gradient are skipped (their moments stay as they are).
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly List<(string Name, Parameter Parameter, bool Decay)> _parameters;
    private readonly Dictionary<string, Tensor> _expAvg = [];
    private readonly Dictionary<string, Tensor> _expAvgSq = [];

    /// <param name="parameters">Named trainable parameters (HF names), in a fixed order.</param>
    /// <param name="decay">Which parameters get weight decay (by name).</param>
    /// <param name="beta1">β1, decay of the first moment.</param>
    /// <param name="beta2">β2, decay of the second moment.</param>
    /// <param name="epsilon">ε added to the corrected √v.</param>
    /// <param name="weightDecay">λ, decoupled weight decay.</param>
    public AdamW(IEnumerable<(string Name, Parameter Parameter)> parameters, Func<string, Parameter, bool> decay, double beta1, double beta2, double epsilon, double weightDecay)
    {
        _parameters = [.. parameters.Select(p => (p.Name, p.Parameter, decay(p.Name, p.Parameter)))];
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        foreach (var (name, parameter, _) in _parameters)
        {
            _expAvg[name] = zeros_like(parameter).DetachFromDisposeScope();       // [param shape]
            _expAvgSq[name] = zeros_like(parameter).DetachFromDisposeScope();     // [param shape]
        }
    }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Epsilon { get; }

    public double WeightDecay { get; }

    /// <summary>Optimizer steps taken (t of the bias corrections).</summary>
    public long StepCount { get; private set; }

    /// <summary>The parameter names in optimizer order.</summary>
    public IReadOnlyList<string> Names => [.. _parameters.Select(p => p.Name)];

    /// <summary>One update with learning rate <paramref name="learningRate"/> from the gradients now held by the parameters.</summary>
    public void Step(double learningRate)
    {
        StepCount++;
        var biasCorrection1 = 1.0 - Math.Pow(Beta1, StepCount);
        var biasCorrection2Sqrt = Math.Sqrt(1.0 - Math.Pow(Beta2, StepCount));
        var stepSize = learningRate / biasCorrection1;
        using var noGrad = no_grad();
        foreach (var (name, parameter, decay) in _parameters)
        {
            using var scope = NewDisposeScope();
            var grad = parameter.grad;
            if (grad is null)
            {
                continue;
            }
            if (decay && WeightDecay != 0)
            {
                parameter.mul_(1.0 - (learningRate * WeightDecay));
            }
            var m = _expAvg[name];
            var v = _expAvgSq[name];
            m.mul_(Beta1).add_(grad, alpha: 1.0 - Beta1);                       // [param shape]
            v.mul_(Beta2).addcmul_(grad, grad, value: 1.0 - Beta2);             // [param shape]
            var denominator = v.sqrt().div_(biasCorrection2Sqrt).add_(Epsilon);  // [param shape]
            parameter.addcdiv_(m, denominator, value: -stepSize);
        }
    }

    /// <summary>Clears the gradients of every parameter.</summary>
    public void ZeroGrad()
    {
        using var scope = NewDisposeScope();
        foreach (var (_, parameter, _) in _parameters)
        {
            parameter.grad?.zero_();
        }
    }

    /// <summary>The moments as named tensors (<c>exp_avg.NAME</c>, <c>exp_avg_sq.NAME</c>); the optimizer's own tensors, not copies.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> State()
    {
        foreach (var (name, _, _) in _parameters)
        {
            yield return new($"exp_avg.{name}", _expAvg[name]);
            yield return new($"exp_avg_sq.{name}", _expAvgSq[name]);
        }
    }

    /// <summary>Restores the moments and step count saved by <see cref="State"/>; every parameter's moments must be present.</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount)
    {
        foreach (var (name, _, _) in _parameters)
        {
            foreach (var (prefix, target) in new[] { ("exp_avg.", _expAvg[name]), ("exp_avg_sq.", _expAvgSq[name]) })
            {
                if (!state.TryGetValue(prefix + name, out var source) || !source.shape.SequenceEqual(target.shape))
                {
                    throw new ArgumentException($"Optimizer state has no tensor '{prefix}{name}' of shape [{string.Join(", ", target.shape)}].", nameof(state));
                }
            }
        }
        using var noGrad = no_grad();
        foreach (var (name, _, _) in _parameters)
        {
            _expAvg[name].copy_(state["exp_avg." + name]);
            _expAvgSq[name].copy_(state["exp_avg_sq." + name]);
        }
        StepCount = stepCount;
    }

    /// <summary>Zeroes the moments and the step count (e.g. between SFT warm start and RL).</summary>
    public void Reset()
    {
        using var noGrad = no_grad();
        foreach (var (name, _, _) in _parameters)
        {
            _expAvg[name].zero_();
            _expAvgSq[name].zero_();
        }
        StepCount = 0;
    }

    public void Dispose()
    {
        foreach (var tensor in _expAvg.Values.Concat(_expAvgSq.Values))
        {
            tensor.Dispose();
        }
        _expAvg.Clear();
        _expAvgSq.Clear();
    }
}
