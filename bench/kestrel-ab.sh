#!/usr/bin/env bash
# A/B of Skiff builds under Kestrel: each argument is a directory holding a KestrelHello build (for an older
# revision: git worktree add /tmp/old REV && dotnet build -c Release /tmp/old/samples/KestrelHello -o /tmp/build-old).
# Per round, every build serves on AF_XDP in turn (wrk from a second namespace over veth, a 3 s warm-up, then
# SECS seconds measured), then with KERNEL=1 the first build on kernel sockets; rounds are interleaved so that
# drift on this shared machine hits every build alike. Prints one line per run: build, driver, mode, rate.
# Usage (root): [ROUNDS=5] [SECS=8] [MODES="close keepalive"] [KERNEL=1] [EXTRA_ENV="VAR=value"] bash bench/kestrel-ab.sh DIR [DIR...]
set -euo pipefail
SECS=${SECS:-8}; ROUNDS=${ROUNDS:-5}; MODES=${MODES:-"close"}; EXTRA_ENV=${EXTRA_ENV:-SKIFF_AB=1}
[ "$(id -u)" -eq 0 ] || { echo "kestrel-ab.sh: run as root (namespaces, AF_XDP)." >&2; exit 1; }
[ $# -ge 1 ] || { echo "kestrel-ab.sh: give one or more KestrelHello build directories." >&2; exit 1; }
for t in dotnet ip ethtool curl wrk; do command -v $t >/dev/null || { echo "kestrel-ab.sh: needs $t" >&2; exit 1; }; done
A=kab-a-$$; B=kab-b-$$; LA=kaba$$; LB=kabb$$; LOG=$(mktemp)
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; rm -f "$LOG"
}
trap cleanup EXIT
ip netns add $A; ip netns add $B
ip link add $LA netns $A type veth peer name $LB netns $B
ip -n $A link set lo up; ip -n $B link set lo up; ip -n $A link set $LA up; ip -n $B link set $LB up
ip -n $B addr add 10.78.0.2/24 dev $LB
ip netns exec $B ethtool -K $LB tx off tso off gso off >/dev/null
run() { # $1 = build directory, $2 = driver
  local dir=$1 drv=$2 ip=10.78.0.1
  if [ "$drv" = kernel ]; then ip=10.78.0.3; ip -n $A addr add $ip/24 dev $LA; fi
  # shellcheck disable=SC2086 # EXTRA_ENV is a list of assignments
  ip netns exec $A env $EXTRA_ENV dotnet "$dir/KestrelHello.dll" --contentRoot "$dir" --driver "$drv" --iface $LA --ip $ip/24 --port 8080 >"$LOG" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 150); do ip netns exec $B curl -s -m 1 -o /dev/null http://$ip:8080/ && break; sleep 0.2; done
  for m in $MODES; do
    local h=(); [ "$m" = close ] && h=(-H 'Connection: close')
    ip netns exec $B wrk -t1 -c32 -d3s "${h[@]}" http://$ip:8080/ >/dev/null
    local r; r=$(ip netns exec $B wrk -t1 -c32 -d"${SECS}s" "${h[@]}" http://$ip:8080/ | awk '/^Requests\/sec:/ {print $2}')
    echo "$(basename "$dir") $drv $m ${r:-failed}"
  done
  kill -TERM $SERVER_PID; wait $SERVER_PID 2>/dev/null || true; SERVER_PID=""
  if [ "$drv" = kernel ]; then ip -n $A addr del $ip/24 dev $LA; fi
}
for _ in $(seq 1 "$ROUNDS"); do
  for d in "$@"; do run "$d" afxdp; done
  if [ -n "${KERNEL:-}" ]; then run "$1" kernel; fi
done
