using System.Diagnostics;
using AgentRl.Abstractions.Training;

namespace AgentRl.Pipeline.WarmStart;

/// <summary>
/// The progress of one warm start, written by the recipe as it goes and read at any time by a progress poll (thread-safe):
/// the stage, how far it is, the time left in the stage from its rate so far, and every SFT batch's loss.
/// </summary>
public sealed class WarmStartTracker
{
    private readonly Lock _gate = new();
    private readonly List<SftBatchRecord> _batches = [];
    private readonly Stopwatch _stage = new();
    private WarmStartStatus _status = new();
    private int _batchesPerEpoch = 1;

    /// <summary>Building <paramref name="total"/> demonstrations for SFT pass <paramref name="pass"/>.</summary>
    public void BeginDemonstrations(int pass, int total) => Begin(new WarmStartStatus { Stage = WarmStartStage.Demonstrations, Pass = pass, Total = total });

    /// <summary><paramref name="built"/> demonstrations of the current pass are built.</summary>
    public void DemonstrationsBuilt(int built) => Advance(built, null);

    /// <summary>SFT pass <paramref name="pass"/>: <paramref name="totalBatches"/> batches, <paramref name="batchesPerEpoch"/> per epoch.</summary>
    public void BeginSft(int pass, int totalBatches, int batchesPerEpoch)
    {
        lock (_gate)
        {
            _batchesPerEpoch = Math.Max(1, batchesPerEpoch);
        }

        Begin(new WarmStartStatus { Stage = WarmStartStage.Sft, Pass = pass, Total = totalBatches });
    }

    /// <summary>One SFT batch of the current pass is done.</summary>
    public void BatchDone(double loss, double learningRate)
    {
        lock (_gate)
        {
            var inPass = _status.Done + 1;
            _batches.Add(new SftBatchRecord(_batches.Count + 1, _status.Pass, ((inPass - 1) / _batchesPerEpoch) + 1, loss, learningRate));
        }

        Advance(null, loss);
    }

    /// <summary>The warm start is over.</summary>
    public void Finish()
    {
        lock (_gate)
        {
            _status = _status with { Stage = WarmStartStage.Done, EtaSeconds = 0 };
        }
    }

    /// <summary>The status now and the batches after <paramref name="afterBatch"/>.</summary>
    public WarmStartReport Report(int afterBatch)
    {
        lock (_gate)
        {
            var from = Math.Clamp(afterBatch, 0, _batches.Count);
            return new WarmStartReport(_status with { Batches = _batches.Count }, _batches.GetRange(from, _batches.Count - from));
        }
    }

    private void Begin(WarmStartStatus status)
    {
        lock (_gate)
        {
            _status = status with { Loss = _status.Loss };
            _stage.Restart();
        }
    }

    private void Advance(int? done, double? loss)
    {
        lock (_gate)
        {
            var now = done ?? _status.Done + 1;
            var seconds = _stage.Elapsed.TotalSeconds;
            _status = _status with
            {
                Done = now,
                Loss = loss ?? _status.Loss,
                EtaSeconds = now > 0 && _status.Total > 0 ? seconds / now * Math.Max(0, _status.Total - now) : null,
            };
        }
    }
}
