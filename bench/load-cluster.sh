#!/usr/bin/env bash
# agentrl-bench load against three silo processes on this machine, joined through Redis:
#   bench/load-cluster.sh [EPISODES]     (default 10000; needs a Release build and redis-server, as ./test.sh installs)
# Every process it starts is stopped by PID when it ends; silo logs go to /tmp/agentrl-load-silo-N.log.
set -euo pipefail
cd "$(dirname "$0")/.."
episodes=${1:-10000}
port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
redis_port=$(port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >/dev/null &
pids=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for i in 0 1 2; do
    dotnet src/Silo/bin/Release/net10.0/AgentRl.Silo.dll --clustering redis --redis "127.0.0.1:$redis_port" --cluster-id load \
        --silo-port "$(port)" --gateway-port "$(port)" --roles rollout,tools --torch-threads 1 --name "load-$i" \
        >"/tmp/agentrl-load-silo-$i.log" 2>&1 &
    pids+=($!)
done
for _ in $(seq 60); do
    active=$(dotnet src/Cli/bin/Release/net10.0/agentrl.dll --cluster "redis://127.0.0.1:$redis_port" --cluster-id load cluster status 2>/dev/null | grep -c " Active " || true)
    [ "$active" -ge 3 ] && break
    sleep 2
done
dotnet bench/AgentRl.Bench/bin/Release/net10.0/agentrl-bench.dll load --episodes "$episodes" --new-tokens 8 \
    --cluster "redis://127.0.0.1:$redis_port" --cluster-id load
