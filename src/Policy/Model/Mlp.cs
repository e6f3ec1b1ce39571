using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AgentRl.Policy.Model;

/// <summary>SwiGLU feed-forward block: <c>down(silu(gate(x)) · up(x))</c>.</summary>
public sealed class Mlp : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "gate_proj")]
    private readonly Linear _gateProj;
    [ComponentName(Name = "up_proj")]
    private readonly Linear _upProj;
    [ComponentName(Name = "down_proj")]
    private readonly Linear _downProj;

    public Mlp(ModelConfig config, Device device, ScalarType dtype) : base("Mlp")
    {
        _gateProj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: false, device: device, dtype: dtype);
        _upProj = nn.Linear(config.HiddenSize, config.IntermediateSize, hasBias: false, device: device, dtype: dtype);
        _downProj = nn.Linear(config.IntermediateSize, config.HiddenSize, hasBias: false, device: device, dtype: dtype);
        RegisterComponents();
    }

    internal (Tensor Gate, Tensor Up, Tensor Down) Weights => (_gateProj.weight!, _upProj.weight!, _downProj.weight!);

    public override Tensor forward(Tensor input)
    {
        var gate = nn.functional.silu(_gateProj.forward(input));   // [batch, seq, intermediate]
        var up = _upProj.forward(input);                            // [batch, seq, intermediate]
        return _downProj.forward(gate.mul(up));                     // [batch, seq, hidden]
    }
}
