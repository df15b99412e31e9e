#!/usr/bin/env bash
# Runs Skiff's whole test suite on a fresh machine: installs what the tests need, restores, builds, tests.
# Usage: bash scripts/test.sh [extra dotnet test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the interop tests drive as peers and probes. Installed only when missing.
packages=(tcpdump libpcap0.8 iproute2 iputils-ping python3 procps ethtool curl nftables ndisc6 wireshark-common traceroute tmux bind9-dnsutils)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "installing: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "warning: not root, cannot install ${missing[*]}; the interop tests that need them will say so" >&2
    fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# .NET tools the tests drive as a user would: dotnet-counters reads the Skiff meter of a running process.
export SKIFF_TEST_TOOLS=${SKIFF_TEST_TOOLS:-$HOME/.skiff-test-tools}
if [ ! -x "$SKIFF_TEST_TOOLS/dotnet-counters" ]; then
    dotnet tool install dotnet-counters --tool-path "$SKIFF_TEST_TOOLS" >/dev/null \
        || echo "warning: could not install dotnet-counters into $SKIFF_TEST_TOOLS; the test that drives it will say so" >&2
fi
dotnet restore Skiff.slnx
dotnet build Skiff.slnx -c Release --no-restore
log=$(mktemp)
set +e
dotnet test Skiff.slnx -c Release --no-build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for every runner: the sums of dotnet test's per-assembly summaries.
grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\1 \2 \3/' \
    | awk '{f+=$1; p+=$2; s+=$3} END {printf "%d passed, %d failed, %d skipped\n", p, f, s}'
rm -f "$log"
exit "$status"
