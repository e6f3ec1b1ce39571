#!/usr/bin/env bash
# Held-out accuracy after the same number of trained samples at several staleness bounds η, AReaL's decoupled PPO loss
# against naive PPO (the vanilla loss, whose old logprobs are the engine's), on arithmetic (README "Asynchronous
# training"). Every run starts from one warm start (an `agentrl sft` run, WARM) and trains STEPS async steps of
# 8 prompts × 4 samples; η = 0 is the synchronous run. Prints one row per run and a table of mean and spread per cell.
#   bench/async-accuracy.sh WARM_RUN_DIR [OUT_DIR] [ETAS] [SEEDS] [STEPS]
#   e.g. bench/async-accuracy.sh runs/warm /tmp/async-acc "0 1 2 4 8" "1 2" 12
set -euo pipefail
cd "$(dirname "$0")/.."
warm="$(readlink -f "$1")"
out="${2:-runs/async-accuracy}"
etas="${3:-0 1 2 4 8}"
seeds="${4:-1 2}"
steps="${5:-12}"
mkdir -p "$out"
for seed in $seeds; do
  for eta in $etas; do
    for loss in vanilla decoupled-ppo; do
      id="eta${eta}-${loss}-s${seed}"
      [ -f "$out/$id/run_state.json" ] && grep -q '"state": "Completed"' "$out/$id/run_state.json" && continue
      ./agentrl train --run-dir "$out" --steps "$steps" --seed "$seed" --set runId="$id" --set initFrom="$warm" \
        --set mode=async --set maxStaleness="$eta" --set objective.policyLoss="$loss" \
        --set promptsPerStep=8 --set groupSize=4 --set evalSize=64 --set evalEvery=1000 --set passK=0 > "$out/$id.log" 2>&1 \
        || { echo "$id failed: see $out/$id.log" >&2; continue; }
    done
  done
done
python3 - "$out" <<'PY'
import csv, glob, os, statistics, sys
out = sys.argv[1]
cells = {}
for path in sorted(glob.glob(os.path.join(out, "*", "metrics.csv"))):
    run = os.path.basename(os.path.dirname(path))
    eta, loss, seed = run.split("-", 1)[0][3:], run.split("-", 1)[1].rsplit("-s", 1)[0], run.rsplit("-s", 1)[1]
    rows = list(csv.DictReader(open(path)))
    final = [r for r in rows if r.get("eval_accuracy")]
    acc = float(final[-1]["eval_accuracy"]) if final else float("nan")
    smax = max(float(r.get("staleness/max") or 0) for r in rows if r["step"] != "0")
    print(f"{run}: eval accuracy {acc:.3f}, staleness max {smax:.0f}")
    cells.setdefault((int(eta), loss), []).append((acc, smax))
print()
print("| η | loss | held-out accuracy (mean ± sd over seeds) | runs | staleness max |")
print("|---|---|---|---|---|")
for (eta, loss), values in sorted(cells.items()):
    accs = [a for a, _ in values]
    sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
    print(f"| {eta} | {loss} | {100 * statistics.mean(accs):.1f} % ± {100 * sd:.1f} | {len(accs)} | {max(s for _, s in values):.0f} |")
PY
