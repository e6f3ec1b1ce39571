#!/usr/bin/env bash
# The GPU silo's compute path on a real GPU, for a lent GPU machine that has PyTorch but no .NET and no package registry.
#
#   bench/gpu-check.sh pack          # here: publish agentrl-bench self-contained without libtorch, into .gpu-check/
#   bench/gpu-check.sh run           # on the GPU machine (the device tool carries .gpu-check/): runs the checks below
#
# TorchSharp-cuda-linux is not served by this project's NuGet feed, so `run` borrows the CUDA libtorch of the machine's
# own PyTorch. TorchSharp 0.107's native glue (libLibTorchSharp.so) was built against libtorch 2.10; `pack` records
# the libtorch symbols it needs, and `run` first checks that the machine's PyTorch exports every one of them (a C++ ABI
# check), then runs `agentrl-bench device-check` on cuda in bf16 and, for comparison on the same machine, on its CPU.
# Everything `run` prints is what the README's "GPU silos" section may report; nothing else is claimed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-check

case "${1:-}" in
pack)
    rm -rf "$out" && mkdir -p "$out"
    publish=$(mktemp -d)
    dotnet publish bench/AgentRl.Bench -c Release -r linux-x64 --self-contained -o "$publish" >/dev/null
    # The CPU libtorch and other unneeded natives stay behind; the GPU machine's PyTorch supplies libtorch.
    (cd "$publish" && rm -rf runtimes ./*.pdb libtorch*.so libc10.so libgomp* libshm.so libaoti_custom_ops.so \
        libbackend_with_compiler.so libjitbackend_test.so libnnapi_backend.so libtorchbind_test.so libSkiaSharp.so libHarfBuzzSharp.so)
    # The libtorch symbols the glue needs: undefined in it, defined by the CPU libtorch it was built against.
    nm -D --undefined-only "$publish/libLibTorchSharp.so" | awk '{print $2}' | sort -u > "$out/undefined.txt"
    libtorch=$(find ~/.nuget/packages/libtorch-cpu-linux-x64 -name libtorch_cpu.so | head -1)
    for lib in libtorch_cpu.so libc10.so libtorch.so; do nm -D --defined-only "$(dirname "$libtorch")/$lib" | awk '{print $3}'; done | sort -u > "$out/defined.txt"
    comm -12 "$out/undefined.txt" "$out/defined.txt" > "$out/libtorch-symbols.txt"
    rm "$out/undefined.txt" "$out/defined.txt"
    tar cJf "$out/agentrl-bench.tar.xz" -C "$publish" .
    rm -rf "$publish"
    echo "packed: $(du -h "$out/agentrl-bench.tar.xz" | cut -f1) app, $(wc -l < "$out/libtorch-symbols.txt") libtorch symbols to check"
    ;;
run)
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi: not available"
    lib=$(python3 -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
    python3 -c 'import torch; print(f"pytorch {torch.__version__}, cuda {torch.version.cuda}, available {torch.cuda.is_available()}, devices {torch.cuda.device_count()}")'
    echo "== ABI: libtorch symbols of TorchSharp 0.107's glue missing from this PyTorch"
    python3 - "$lib" "$out/libtorch-symbols.txt" <<'EOF'
import ctypes, os, sys
lib, listing = sys.argv[1], sys.argv[2]
libs = [ctypes.CDLL(os.path.join(lib, n), mode=ctypes.RTLD_GLOBAL) for n in ("libc10.so", "libtorch_cpu.so", "libtorch.so") if os.path.exists(os.path.join(lib, n))]
symbols = [s.strip() for s in open(listing) if s.strip()]
def found(name):
    for l in libs:
        try:
            getattr(l, name)
            return True
        except AttributeError:
            pass
    return False
missing = [s for s in symbols if not found(s)]
print(f"{len(missing)} of {len(symbols)} missing")
for s in missing[:20]:
    print("  missing:", s)
EOF
    app=$(mktemp -d)
    tar xJf "$out/agentrl-bench.tar.xz" -C "$app"
    export LD_LIBRARY_PATH="$lib:${LD_LIBRARY_PATH:-}"
    status=0
    for target in "cuda bf16" "cuda f32" "cpu f32"; do
        set -- $target
        echo "== device-check --device $1 --dtype $2"
        timeout 300 "$app/agentrl-bench" device-check --device "$1" --dtype "$2" --steps 5 --config small || status=$?
    done
    exit $status
    ;;
*)
    echo "usage: bench/gpu-check.sh pack|run" >&2
    exit 2
    ;;
esac
