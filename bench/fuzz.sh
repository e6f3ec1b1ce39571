#!/usr/bin/env bash
# bench/fuzz.sh TARGET [SECONDS]: a time-boxed afl-fuzz run (SharpFuzz) of one parser that reads outside input.
# TARGET: tool-call, calculator, safetensors, tokenizer, model-config. SECONDS: default 300.
# Installs what it needs: afl++ (apt-get, as root or through sudo) and the sharpfuzz instrumenter (a .NET tool, into
# .tools/). Publishes bench/AgentRl.Fuzz to .fuzz/TARGET/bin, instruments the AgentRl assemblies, seeds a corpus, runs
# afl-fuzz and prints its figures; crashing inputs are kept in .fuzz/TARGET/findings/default/crashes/. Exit 1 when
# afl-fuzz recorded a crash or a hang.
set -euo pipefail
target="${1:?usage: bench/fuzz.sh TARGET [SECONDS] (tool-call, calculator, safetensors, tokenizer, model-config)}"
seconds="${2:-300}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$root/.fuzz/$target"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v afl-fuzz >/dev/null; then
  as_root apt-get install -y -q afl++ >/dev/null
fi
sharpfuzz="$root/.tools/sharpfuzz/sharpfuzz"
if [ ! -x "$sharpfuzz" ]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$root/.tools/sharpfuzz" >/dev/null
fi

rm -rf "$work" && mkdir -p "$work/corpus"
dotnet publish "$root/bench/AgentRl.Fuzz" -c Release -o "$work/bin" -nologo -v quiet >/dev/null
for dll in "$work"/bin/AgentRl.*.dll; do
  "$sharpfuzz" "$dll" >/dev/null
done

case "$target" in
  tool-call) printf '%s' '<tool_call>{"name": "calculator-evaluate", "arguments": {"expression": "1+1"}}</tool_call>' > "$work/corpus/call" ;;
  calculator) printf '%s' '(12+34)*5-6/3' > "$work/corpus/expr" ;;
  safetensors) printf '\x36\x00\x00\x00\x00\x00\x00\x00{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}\x00\x00\x80\x3f' > "$work/corpus/st" ;;
  tokenizer) printf '%s' '{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]},"added_tokens":[{"id":3,"content":"<|endoftext|>","special":true}]}' > "$work/corpus/tok" ;;
  model-config) printf '%s' '{"hidden_size":64,"num_hidden_layers":2,"vocab_size":300,"eos_token_id":[1,2],"temperature":0.7}' > "$work/corpus/cfg" ;;
  *) echo "unknown target '$target'" >&2; exit 2 ;;
esac

export AFL_SKIP_BIN_CHECK=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1
timeout --signal=INT "$((seconds + 30))" afl-fuzz -V "$seconds" -i "$work/corpus" -o "$work/findings" -t 5000 -m none \
  dotnet "$work/bin/agentrl-fuzz.dll" "$target" > "$work/afl.log" 2>&1 || true

stats="$work/findings/default/fuzzer_stats"
if [ ! -f "$stats" ]; then
  echo "afl-fuzz did not start; its output:" >&2
  tail -30 "$work/afl.log" >&2
  exit 2
fi
get() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
echo "target $target: $(get execs_done) executions in $(get run_time) s ($(get execs_per_sec)/s), $(get corpus_count) corpus entries, $(get saved_crashes) crashes, $(get saved_hangs) hangs"
[ "$(get saved_crashes)" = 0 ] && [ "$(get saved_hangs)" = 0 ]
