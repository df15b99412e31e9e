#!/usr/bin/env bash
# Kestrel over Skiff vs Kestrel on kernel sockets, the same app (samples/KestrelHello) over one veth pair:
# wrk in namespace B drives the sample in namespace A, GET / with keep-alive (requests/s) and with
# 'Connection: close' (one connection per request: connections/s), for
#   (1) the sample over Skiff on AF_XDP (and AF_PACKET) owning 10.78.0.1 on A's veth, and
#   (2) the sample with --driver kernel: Kestrel's own socket transport on 10.78.0.3, a kernel address on A's veth.
# Each row gets a warm-up run first (JIT tiering), then ROUNDS measured runs interleaved; medians and ratios at the end.
# Transmit checksum offload, TSO and GSO are off on B's veth for every row (the veth checksum trap; docs/drivers.md).
# Note: Skiff's engine busy-polls one core while there is traffic; on a 2-core machine that core is taken from
# Kestrel's own threads and from wrk. The load average is printed with the results.
# Usage (root): bash bench/kestrel-wrk.sh [SECONDS=10] [CONNECTIONS=32] [ROUNDS=3] [DRIVERS="afxdp afpacket"]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-10}; CONNECTIONS=${2:-32}; ROUNDS=${3:-3}; DRIVERS=${4:-"afxdp afpacket"}
A=skw-a-$$; B=skw-b-$$; LA=skwa$$; LB=skwb$$; OUT=/tmp/kestrel-wrk-$$
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; rm -rf "$OUT"
}
trap cleanup EXIT
[ "$(id -u)" -eq 0 ] || { echo "kestrel-wrk.sh: run as root (namespaces, AF_XDP)." >&2; exit 1; }
if ! command -v wrk >/dev/null; then
  echo "installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
for t in dotnet ip ethtool curl wrk; do command -v $t >/dev/null || { echo "kestrel-wrk.sh: needs $t" >&2; exit 1; }; done
dotnet build -c Release samples/KestrelHello -o "$OUT" >/dev/null
ip netns add $A; ip netns add $B
ip link add $LA netns $A type veth peer name $LB netns $B
ip -n $A link set lo up; ip -n $B link set lo up; ip -n $A link set $LA up; ip -n $B link set $LB up
ip -n $B addr add 10.78.0.2/24 dev $LB
ip netns exec $B ethtool -K $LB tx off tso off gso off >/dev/null

start_server() { # $1 = url to wait for, rest = sample arguments
  local url=$1; shift
  ip netns exec $A dotnet "$OUT/KestrelHello.dll" --contentRoot "$OUT" "$@" >"$OUT/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 150); do
    if ip netns exec $B curl -s -m 1 -o /dev/null "$url"; then return 0; fi
    kill -0 $SERVER_PID 2>/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "kestrel-wrk.sh: the sample did not answer $url" >&2; cat "$OUT/server.log" >&2; exit 1
}
stop_server() { kill -TERM $SERVER_PID; wait $SERVER_PID 2>/dev/null || true; SERVER_PID=""; }
run_wrk() { # $1 = url, $2 = seconds, rest = extra wrk arguments; prints requests/s (and errors on stderr)
  local url=$1 secs=$2; shift 2
  local out; out=$(ip netns exec $B wrk -t1 -c"$CONNECTIONS" -d"${secs}s" "$@" "$url")
  grep -E "Socket errors|Non-2xx" <<<"$out" | sed "s|^|    ($url $*) |" >&2 || true
  awk '/^Requests\/sec:/ {print $2}' <<<"$out"
}
measure() { # $1 = row name, $2 = url
  run_wrk "$2" 3 >/dev/null; run_wrk "$2" 3 -H 'Connection: close' >/dev/null # warm-up
  local ka cl
  ka=$(run_wrk "$2" "$SECONDS_PER_RUN"); cl=$(run_wrk "$2" "$SECONDS_PER_RUN" -H 'Connection: close')
  printf "  round %d %-15s keep-alive %10s req/s   Connection: close %10s conn/s\n" "$round" "$1" "$ka" "$cl"
  keepalive[$1]+="$ka "; close[$1]+="$cl "
}
declare -A keepalive close
echo "== wrk -t1 -c$CONNECTIONS -d${SECONDS_PER_RUN}s GET / on KestrelHello, $ROUNDS rounds (load before: $(cut -d' ' -f1-3 /proc/loadavg))"
for round in $(seq 1 "$ROUNDS"); do
  for driver in $DRIVERS; do
    start_server http://10.78.0.1:8080/ --driver "$driver" --iface $LA --ip 10.78.0.1/24 --port 8080
    measure "skiff-$driver" http://10.78.0.1:8080/
    stop_server
  done
  ip -n $A addr add 10.78.0.3/24 dev $LA
  start_server http://10.78.0.3:8080/ --driver kernel --ip 10.78.0.3/24 --port 8080
  measure kernel http://10.78.0.3:8080/
  stop_server
  ip -n $A addr del 10.78.0.3/24 dev $LA
done
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "== medians over $ROUNDS rounds (load after: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
kka=$(median "${keepalive[kernel]}"); kcl=$(median "${close[kernel]}")
printf "   %-15s keep-alive %10s req/s   Connection: close %10s conn/s\n" kernel "$kka" "$kcl"
for driver in $DRIVERS; do
  ska=$(median "${keepalive[skiff-$driver]}"); scl=$(median "${close[skiff-$driver]}")
  printf "   %-15s keep-alive %10s req/s (%sx kernel)   Connection: close %10s conn/s (%sx kernel)\n" "skiff-$driver" \
    "$ska" "$(awk -v a="$ska" -v b="$kka" 'BEGIN {printf "%.2f", a / b}')" "$scl" "$(awk -v a="$scl" -v b="$kcl" 'BEGIN {printf "%.2f", a / b}')"
done
