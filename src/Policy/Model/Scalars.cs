using TorchSharp;

namespace AgentRl.Policy.Model;

/// <summary>
/// Scalars held for the life of the process. TorchSharp turns a number argument (including the implicit <c>alpha = 1</c>
/// of <c>add(Tensor)</c>) into a new native <see cref="Scalar"/> that nothing keeps alive during the native call; its
/// finalizer can free it while the call still reads it, which showed up as a sporadic "toFloat" check failure in
/// decoding while a trainer ran in the same process. Hot paths pass these instead.
/// </summary>
public static class Scalars
{
    public static readonly Scalar One = 1.ToScalar();

    public static readonly Scalar NegativeInfinity = double.NegativeInfinity.ToScalar();

    /// <summary>A scalar for <paramref name="value"/> that the caller keeps (e.g. in a field) for as long as it is used.</summary>
    public static Scalar Of(double value) => value.ToScalar();
}
