#!/usr/bin/env bash
# Installs what the tool sandbox tests need: bubblewrap (bwrap), python3 and util-linux (prlimit, setpriv, setsid,
# unshare). Idempotent: does nothing when everything is present. Debian/Ubuntu, run as root (or with sudo available).
set -euo pipefail

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
[ -x /usr/bin/python3 ] || [ -x /usr/local/bin/python3 ] || [ -x /bin/python3 ] || missing+=(python3)
for tool in prlimit setpriv setsid unshare; do
  command -v "$tool" >/dev/null 2>&1 || { missing+=(util-linux); break; }
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "tool deps: bubblewrap, python3 and util-linux already present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "tool deps: missing ${missing[*]} and not root (no sudo): install them by hand" >&2
  exit 1
fi

echo "tool deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
bwrap --version
