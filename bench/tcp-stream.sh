#!/usr/bin/env bash
# TCP single stream over one veth pair: a kernel client in namespace B sends to
#   (1) Skiff (skiff serve --tcp-discard) on AF_XDP and on AF_PACKET in namespace A, and
#   (2) the kernel in namespace A (a discard server on a kernel socket),
# interleaved, ROUNDS times. Transmit checksum offload is off on B's veth for every row (AF_XDP cannot see
# unfinished checksums on veth, see docs/drivers.md), TSO/GSO too (AF_PACKET drops GSO super-frames).
# Usage (root): [BASE=REV] bash bench/tcp-stream.sh [SECONDS=5] [ROUNDS=3]
# SKIFF_ARGS="..." adds serve options to the current tree's rows (e.g. --yield-us 1000).
# BASE=REV adds a skiff-afxdp-base row: the CLI of git revision REV (bench/build-base.sh), interleaved with the others.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-5}; ROUNDS=${2:-3}
A=skt-a-$$; B=skt-b-$$; LA=skta$$; LB=sktb$$
SKIFF_PID=""
cleanup() { [ -n "$SKIFF_PID" ] && kill "$SKIFF_PID" 2>/dev/null || true; ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; }
trap cleanup EXIT
dotnet build -c Release src/Skiff.Cli -o /tmp/skiff-tcp-stream >/dev/null
# BASE=REV: also run the CLI of git revision REV on AF_XDP (skiff-afxdp-base), interleaved: an A/B in one run.
BUILDS="skiff-tcp-stream"
if [ -n "${BASE:-}" ]; then bash bench/build-base.sh "$BASE" /tmp/skiff-tcp-stream-base; BUILDS="$BUILDS skiff-tcp-stream-base"; fi
ip netns add $A; ip netns add $B
ip link add $LA netns $A type veth peer name $LB netns $B
ip -n $A link set lo up; ip -n $B link set lo up; ip -n $A link set $LA up; ip -n $B link set $LB up
ip -n $B addr add 10.79.0.2/24 dev $LB
ip netns exec $B ethtool -K $LB tx off tso off gso off >/dev/null
client() { # $1 = address; prints Gbit/s
  ip netns exec $B timeout $((SECONDS_PER_RUN + 20)) /usr/bin/python3 - "$1" "$SECONDS_PER_RUN" <<'PY'
import socket, sys, time
addr, secs = sys.argv[1], float(sys.argv[2])
s = socket.create_connection((addr, 9), timeout=10)
buf = b"\x5a" * (1 << 20); sent = 0; t0 = time.monotonic()
while time.monotonic() - t0 < secs:
    s.sendall(buf); sent += len(buf)
s.shutdown(socket.SHUT_WR); s.recv(1); el = time.monotonic() - t0; s.close()
print(f"{sent * 8 / el / 1e9:.2f}")
PY
}
declare -A results
for round in $(seq 1 $ROUNDS); do
  for build in $BUILDS; do
  for driver in afxdp afpacket; do
    name=skiff-$driver; [ $build = skiff-tcp-stream ] || { [ $driver = afxdp ] || continue; name=skiff-afxdp-base; }
    extra=""; [ $build = skiff-tcp-stream ] && extra="${SKIFF_ARGS:-}"
    ip netns exec $A dotnet /tmp/$build/skiff.dll serve --driver $driver --iface $LA --ip 10.79.0.1/24 --tcp-discard 9 $extra >/tmp/skiff-tcp-stream.log 2>&1 &
    SKIFF_PID=$!; sleep 3
    g=$(client 10.79.0.1 || echo 0); echo "round $round $name: $g Gbit/s"; results[$name]+="$g "
    kill -TERM $SKIFF_PID; wait $SKIFF_PID 2>/dev/null || true; SKIFF_PID=""
  done
  done
  ip -n $A addr add 10.79.0.3/24 dev $LA
  ip netns exec $A /usr/bin/python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.79.0.3", 9)); s.listen(1)
c, _ = s.accept()
while c.recv(1 << 20): pass
c.close()' &
  SRV=$!; sleep 1
  g=$(client 10.79.0.3 || echo 0); echo "round $round kernel: $g Gbit/s"; results[kernel]+="$g "
  wait $SRV 2>/dev/null || true
  ip -n $A addr del 10.79.0.3/24 dev $LA
done
echo "== medians over $ROUNDS rounds (load: $(cut -d' ' -f1-3 /proc/loadavg))"
for k in skiff-afxdp skiff-afxdp-base skiff-afpacket kernel; do
  [ -n "${results[$k]:-}" ] || continue
  m=$(echo ${results[$k]} | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "   $k median $m Gbit/s  (rounds: ${results[$k]})"
done
