#!/usr/bin/env bash
# Soak: the chaos test (tests/AgentRl.Cluster.Tests/Chaos/ChaosTests.cs) under N random schedules, one after another.
#   bench/chaos-soak.sh 10          # 10 random seeds; each failing seed is printed with its log, for replay:
#   AGENTRL_CHAOS_SEED=1234 dotnet test tests/AgentRl.Cluster.Tests -c Release --filter FullyQualifiedName~ChaosTests
# Needs what ./test.sh installs (redis-server, Azurite); builds once in Release.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
dotnet build tests/AgentRl.Cluster.Tests -c Release >/dev/null
failed=()
for ((i = 1; i <= runs; i++)); do
    seed=$((RANDOM * 32768 + RANDOM))
    log=$(mktemp /tmp/agentrl-chaos-XXXXXX.log)
    if AGENTRL_CHAOS_SEED=$seed dotnet test tests/AgentRl.Cluster.Tests -c Release --no-build \
        --filter "FullyQualifiedName~ChaosTests" --logger "console;verbosity=detailed" >"$log" 2>&1; then
        echo "seed $seed: passed ($(grep -o 'finished: .*' "$log" | head -1))"
        rm -f "$log"
    else
        echo "seed $seed: FAILED, log in $log"
        failed+=("$seed")
    fi
done
echo "${#failed[@]} of $runs schedules failed${failed:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
