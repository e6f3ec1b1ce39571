#!/usr/bin/env bash
# The test command: installs what the tests need when it is missing, then runs every test project.
#   ./test.sh                 all tests
#   ./test.sh --filter X      passed through to dotnet test
# Needs root (or sudo) only when a Debian package is missing.
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
command -v bwrap >/dev/null 2>&1 || need_apt+=(bubblewrap)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
# A real Prometheus server for the scrape test (tests/AgentRl.Cluster.Tests/Telemetry).
command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
# The run dashboard's browser test drives Debian's chromium through Playwright (it never downloads a browser).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# A font for the text of training.png (SkiaSharp NoDependencies reads /usr/share/fonts directly).
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "test.sh: installing ${need_apt[*]} with apt-get"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

for script in tests/scripts/install-*.sh; do
  [ -f "$script" ] && bash "$script"
done

dotnet restore AgentRl.sln
dotnet build AgentRl.sln --no-restore -c Release
log=$(mktemp)
status=0
dotnet test AgentRl.sln --no-build -c Release "$@" 2>&1 | tee "$log" || status=$?
# One summary line over all test projects, in the "N passed, N failed" form CI reads.
awk '/^(Passed!|Failed!) +- +Failed:/ {
       gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
     }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit $status
