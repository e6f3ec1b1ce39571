#!/usr/bin/env bash
# Installs Azurite (the Azure Storage emulator) for the checkpoint-store tests into <repo>/.tools/azurite (gitignored).
# Idempotent: does nothing when azurite-blob is already there. Run by test.sh before the tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
prefix="$root/.tools/azurite"
if [ -x "$prefix/node_modules/.bin/azurite-blob" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install-azurite.sh: npm is missing (test.sh installs nodejs and npm with apt-get)" >&2
  exit 1
fi
echo "install-azurite.sh: installing azurite@3 into $prefix"
mkdir -p "$prefix"
npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error azurite@3
"$prefix/node_modules/.bin/azurite-blob" --version
