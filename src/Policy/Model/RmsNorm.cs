using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.Utils;
using static TorchSharp.torch;

namespace AgentRl.Policy.Model;

/// <summary>Root-mean-square layer norm (Llama / Qwen2): <c>x / sqrt(mean(x²) + eps) · weight</c>, computed in f32.</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "weight")]
    private readonly Parameter _weight;
    private readonly Scalar _eps;

    public RmsNorm(long size, double eps, Device device, ScalarType dtype) : base("RmsNorm")
    {
        _weight = nn.Parameter(ones(size, dtype: dtype, device: device));   // [hidden]
        _eps = Scalars.Of(eps);
        RegisterComponents();
    }

    internal Tensor Weight => _weight;

    public override Tensor forward(Tensor input)
    {
        var x = input.dtype == ScalarType.Float32 ? input : input.to_type(ScalarType.Float32);   // [..., hidden]
        var inverseRms = x.square().mean([-1L], keepdim: true).add(_eps).rsqrt();             // [..., 1]
        var normed = x.mul(inverseRms);                                                           // [..., hidden]
        if (normed.dtype != _weight.dtype)
        {
            normed = normed.to_type(_weight.dtype);                                               // [..., hidden]
        }

        return normed.mul(_weight);                                                               // [..., hidden]
    }
}
