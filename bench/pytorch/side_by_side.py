"""Runs agentrl-bench and the PyTorch eager reference (bench.py) side by side, row by row, and prints a Markdown table.

    dotnet build bench/AgentRl.Bench -c Release
    python3 bench/pytorch/side_by_side.py [--configs tiny,small] [--rounds 2] [--runs 5]

Each round runs every row once in each engine, alternating, so both see the same machine load. Each engine is
credited with its best thread setting in that round (the same OpenMP wait policy for both, see `environments`): PyTorch runs every row with torch threads x OpenBLAS threads
2x1, 1x2 and 1x1; agentrl-bench runs generate rows with its defaults (the engine's own thread, managed decoding split
over the cores) and train rows with --threads 2 and --threads 1. A row's number is the median over rounds of each
round's best median tokens/s; the ratio is AgentRl / PyTorch.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BENCH_DLL = os.path.join(ROOT, "bench", "AgentRl.Bench", "bin", "Release", "net10.0", "agentrl-bench.dll")
PYTORCH_SETTINGS = [(2, 1), (1, 2), (1, 1)]   # (torch threads, OpenBLAS threads)
OURS_SETTINGS = {"generate": [2], "train": [2, 1]}   # agentrl-bench --threads


def rows(configs):
    for config in configs:
        for batch in (1, 16, 64):
            yield (config, f"generate b{batch}",
                   ["generate", "--config", config, "--batch", str(batch), "--prompt-len", "32", "--new-tokens", "96"])
        yield (config, "train b16 x 128", ["train", "--config", config, "--batch", "16", "--seq-len", "128"])


def run_json(command, env=None):
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", default="tiny,small")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--python", default="/usr/bin/python3", help="a python3 that imports torch")
    a = parser.parse_args()
    if not os.path.exists(BENCH_DLL):
        sys.exit(f"{BENCH_DLL} is missing: run `dotnet build bench/AgentRl.Bench -c Release` first.")
    # Generate rows with sleeping OpenMP workers (agentrl's engine thread runs beside the process's torch threads, which
    # would spin against it); train rows with OpenMP's default, spinning between the many parallel regions of a step.
    environments = {"generate": dict(os.environ, OMP_WAIT_POLICY="PASSIVE"), "train": dict(os.environ)}
    table = {}
    for round_index in range(a.rounds):
        for config, label, arguments in rows(a.configs.split(",")):
            arguments = arguments + ["--runs", str(a.runs)]
            env = environments[arguments[0]]
            ours = {}
            for threads in OURS_SETTINGS[arguments[0]]:
                line = run_json(["dotnet", BENCH_DLL] + arguments + ["--threads", str(threads)], env)
                ours[threads] = line["tokens_per_s"]
            our_best = max(ours, key=ours.get)
            theirs = {}
            for threads, blas in PYTORCH_SETTINGS:
                line = run_json([a.python, os.path.join(HERE, "bench.py")] + arguments
                                + ["--threads", str(threads), "--blas-threads", str(blas)], env)
                theirs[(threads, blas)] = line["tokens_per_s"]
            best = max(theirs, key=theirs.get)
            entry = table.setdefault((config, label), {"ours": [], "pytorch": [], "settings": [], "our_settings": []})
            entry["ours"].append(ours[our_best])
            entry["our_settings"].append(str(our_best))
            entry["pytorch"].append(theirs[best])
            entry["settings"].append(f"{best[0]}x{best[1]}")
            print(json.dumps({"round": round_index, "config": config, "row": label, "agentrl": ours,
                              "pytorch": {f"{t}x{b}": v for (t, b), v in theirs.items()}}), file=sys.stderr, flush=True)
    print("| config | row | AgentRl tokens/s (threads) | PyTorch eager tokens/s (threads x BLAS) | AgentRl / PyTorch |")
    print("|---|---|---|---|---|")
    for (config, label), entry in table.items():
        ours = statistics.median(entry["ours"])
        theirs = statistics.median(entry["pytorch"])
        settings = ",".join(sorted(set(entry["settings"])))
        our_settings = ",".join(sorted(set(entry["our_settings"])))
        print(f"| {config} | {label} | {ours:,.0f} ({our_settings}) | {theirs:,.0f} ({settings}) | {ours / theirs:.2f}x |")


if __name__ == "__main__":
    main()
