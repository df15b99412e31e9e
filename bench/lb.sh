#!/usr/bin/env bash
# Usage (root): flock /tmp/skiff-bench.lock bash bench/lb.sh [SECONDS=8] [ROUNDS=3]
# Forwarding rate of the LoadBalancer sample (samples/LoadBalancer, issue 18) against the kernel, one run, systems
# interleaved per round. 64-byte UDP frames to VIP:9 come from the generator namespace G (the XDP loop generator of
# bench/drivers.sh: frames circulate in a spare veth pair and COPIES of each pass leave G's veth; CPU 0) into the
# balancer's namespace M over one veth; M forwards each to one of three backends whose next hop is G's veth (static
# neighbours), so forwarded frames come back to G, where an XDP program drops and counts them
# (bench/native/xdp_drop_sink.c). The figure is the sink's drops per second (median of the run's seconds).
#   kernel-ecmp  Linux in M: ip_forward=1, the VIP routed over an ECMP route with the three backends as next hops
#                (fib_multipath_hash_policy=1: the 5-tuple), static neighbours: the kernel's stateless equivalent of DSR
#                (MAC rewrite; the kernel also decrements the TTL). This kernel has no IPVS (CONFIG_IP_VS is not set)
#                and no IP-in-IP, GRE or FOU (CONFIG_NET_IPIP, CONFIG_NET_IPGRE, CONFIG_NET_FOU are not set), so the
#                kernel cannot forward with the sample's encapsulation: this is the closest kernel anchor.
#   skiff-dsr    the sample on AF_XDP in M, --mode dsr (Maglev + connection table + MAC rewrite, Tx verdict), CPU 1
#   skiff-ipip   the same, --mode ipip (an outer IPv4 header in the headroom, 84-byte frames out)
# One flow (the generator's frames are all alike): every frame after the first hits the connection table.
# SYSTEMS picks systems. KEEP=1 keeps the logs. Needs: dotnet, gcc, iproute2, ethtool.
set -euo pipefail
S=${1:-8}; ROUNDS=${2:-3}; COPIES=${COPIES:-16}; IN_FLIGHT=${IN_FLIGHT:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/lib/xdp-sink.sh"
OUT=$(mktemp -d /tmp/skiff-lb.XXXXXX)
G=sklb-g-$$; M=sklb-m-$$; VG=sklbg$$; VM=sklbm$$
IPG=10.77.1.2; IPM=10.77.1.1; VIP=10.77.1.100; BACKENDS=(10.77.1.11 10.77.1.12 10.77.1.13)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in $G $M; do ip netns del $n 2>/dev/null || true; done
  if [ -n "${KEEP:-}" ]; then echo "logs kept in $OUT"; else rm -rf "$OUT"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
[ "$(id -u)" = 0 ] || { echo "lb.sh: run as root (namespaces, XDP, AF_XDP)." >&2; exit 2; }
for t in dotnet gcc ip ethtool taskset python3; do
  command -v $t >/dev/null || { echo "lb.sh: $t is missing; apt-get install it." >&2; exit 2; }
done

echo "== build"
dotnet build -c Release "$ROOT/bench/Skiff.Benchmarks" --artifacts-path "${ARTIFACTS:-/tmp/art-lb}" -o "$OUT/bin" -v q -nologo >"$OUT/build.log" 2>&1 \
  || { cat "$OUT/build.log"; echo "lb.sh: the benchmark build failed (above)." >&2; exit 1; }
dotnet build -c Release "$ROOT/samples/LoadBalancer" --artifacts-path "${ARTIFACTS:-/tmp/art-lb}-sample" -o "$OUT/lb" -v q -nologo >"$OUT/build-lb.log" 2>&1 \
  || { cat "$OUT/build-lb.log"; echo "lb.sh: the LoadBalancer build failed (above)." >&2; exit 1; }
BENCH="$OUT/bin/Skiff.Benchmarks.dll"; LB="$OUT/lb/LoadBalancer.dll"
gcc -O2 -Wall -o "$OUT/xdp_drop_sink" "$ROOT/bench/native/xdp_drop_sink.c"

echo "== namespaces: generator and sink $G ($VG $IPG) — balancer $M ($VM $IPM, VIP $VIP:9, backends ${BACKENDS[*]} via $VG)"
for n in $G $M; do ip netns add $n; ip -n $n link set lo up; done
ip link add $VG netns $G type veth peer name $VM netns $M
ip -n $G addr add $IPG/24 dev $VG; ip -n $M addr add $IPM/24 dev $VM
for l in "$G $VG" "$M $VM"; do set -- $l; ip -n $1 link set $2 up; ip netns exec $1 ethtool -K $2 gro on >/dev/null; done
ip -n $G link add ${VG}l type veth peer name ${VG}m
ip netns exec $G sysctl -qw net.ipv6.conf.${VG}l.disable_ipv6=1 net.ipv6.conf.${VG}m.disable_ipv6=1
ip -n $G link set ${VG}l up; ip -n $G link set ${VG}m up
MACM=$(ip netns exec $M cat /sys/class/net/$VM/address); MACG=$(ip netns exec $G cat /sys/class/net/$VG/address)
NEIGHBORS=()
for b in "${BACKENDS[@]}"; do
  ip -n $M neigh replace $b lladdr $MACG dev $VM nud permanent
  NEIGHBORS+=(--neighbor "$b=$MACG")
done
ip -n $M route add $VIP/32 nexthop via ${BACKENDS[0]} dev $VM nexthop via ${BACKENDS[1]} dev $VM nexthop via ${BACKENDS[2]} dev $VM
ip netns exec $M sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 net.ipv4.conf.$VM.rp_filter=0 \
  net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.$VM.send_redirects=0 net.ipv4.fib_multipath_hash_policy=1

gen_start() {
  ip netns exec $G taskset -c 0 dotnet "$BENCH" gen --iface $VG --dst-mac $MACM --dst-ip $VIP --src-ip $IPG \
    --generator loop --loop-iface ${VG}l --loop-peer-iface ${VG}m --copies $COPIES --in-flight $IN_FLIGHT --seconds $((S + 14)) --cpu 0 >"$OUT/gen.$1.log" 2>&1 &
  GEN_PID=$!; PIDS+=($GEN_PID); sleep 1.5
  kill -0 $GEN_PID 2>/dev/null || { cat "$OUT/gen.$1.log"; echo "lb.sh: the generator did not start (above)." >&2; exit 1; }
}
gen_stop() { kill -TERM $GEN_PID 2>/dev/null || true; wait $GEN_PID 2>/dev/null || true; }

run_one() {
  local name=$1 r=$2 log="$OUT/$1.$2.log" lb="" pps
  case $name in
    kernel-ecmp) ip netns exec $M sysctl -qw net.ipv4.ip_forward=1 ;;
    skiff-dsr|skiff-ipip)
      ip netns exec $M taskset -c 1 dotnet "$LB" --driver afxdp --iface $VM --ip $IPM/24 --vip $VIP:9 --proto udp \
        --backend "$(IFS=,; echo "${BACKENDS[*]}")" --mode ${name#skiff-} --check none "${NEIGHBORS[@]}" --status 0 --seconds $((S + 8)) >"$log" 2>&1 &
      lb=$!; PIDS+=($lb); sleep 4 ;;
  esac
  gen_start "$name.$r"
  pps=$(xdp_sink_median $G $VG $S "$OUT/xdp_drop_sink" "$log") || pps=0
  gen_stop
  [ -n "$lb" ] && { kill -INT $lb 2>/dev/null || true; wait $lb 2>/dev/null || true; }
  [ $name = kernel-ecmp ] && ip netns exec $M sysctl -qw net.ipv4.ip_forward=0
  printf "   round %d %-12s %9d pps through (load %s)\n" $r $name ${pps:-0} "$(cut -d' ' -f1-3 /proc/loadavg)"
  [ -n "$lb" ] && grep -h "forwarded \[" "$log" | tail -1 | sed 's/^/     /' || true
  [ "${pps:-0}" -gt 0 ] && echo "$name $r $pps" >>"$OUT/results" || { echo "   $name round $r: nothing through; log:"; tail -15 "$log" | sed 's/^/     /'; }
}

SYSTEMS=${SYSTEMS:-"kernel-ecmp skiff-dsr skiff-ipip"}
echo "== $ROUNDS rounds of $S s: $SYSTEMS (generator CPU 0, balancer CPU 1); load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 $ROUNDS); do for s in $SYSTEMS; do run_one $s $r; done; done
echo "== medians"
python3 "$ROOT/bench/lib/medians.py" "$OUT/results" Mpps "skiff-dsr/kernel-ecmp;skiff-ipip/kernel-ecmp;skiff-ipip/skiff-dsr"
