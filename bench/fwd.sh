#!/usr/bin/env bash
# Usage (root): flock /tmp/skiff-bench.lock bash bench/fwd.sh [SECONDS=8] [ROUNDS=3]
# 64-byte forwarding rate through the middle namespace M, one run, systems interleaved per round (issue 17):
#   kernel     Linux forwarding in M (ip_forward=1, a static neighbour for the sink): the kernel anchor
#   skiff-io   skiff fwd --driver afxdp --mode io  (busy-poll)      dpdk-io   dpdk-testpmd --forward-mode=io  over net_af_xdp
#   skiff-mac  skiff fwd --driver afxdp --mode mac (busy-poll)      dpdk-mac  dpdk-testpmd --forward-mode=mac over net_af_xdp
#   skiff-l3   skiff fwd --driver afxdp --mode l3  (busy-poll; the router's LPM, TTL, checksum and ARP-resolved next hop)
# Generator in namespace G (the XDP loop generator of bench/drivers.sh, GEN=loop: frames circulate in a spare veth pair
# and COPIES of each pass leave G's veth; from CPU 0) → M's port 0 → the forwarder (CPU 1) → M's port 1 → sink namespace S,
# whose veth drops every frame in XDP (bench/native/xdp_drop_sink.c). The figure is the sink's XDP drops per second (median
# of the run's seconds): frames that made it through. On veth the receive side's kernel work runs on the sender's CPU:
# whole-machine figures; compare ratios within one run.
# SYSTEMS picks systems. KEEP=1 keeps the logs. Needs: dotnet, gcc, iproute2, ethtool, dpdk-dev (dpdk-testpmd).
set -euo pipefail
S=${1:-8}; ROUNDS=${2:-3}; COPIES=${COPIES:-16}; IN_FLIGHT=${IN_FLIGHT:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/lib/xdp-sink.sh"
OUT=$(mktemp -d /tmp/skiff-fwd.XXXXXX)
G=skf-g-$$; M=skf-m-$$; SN=skf-s-$$; VG=skfg$$; VM0=skfm0$$; VM1=skfm1$$; VS=skfs$$
IPG=10.79.1.2; IPM0=10.79.1.1; IPM1=10.79.2.1; IPS=10.79.2.2
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in $G $M $SN; do ip netns del $n 2>/dev/null || true; done
  if [ -n "${KEEP:-}" ]; then echo "logs kept in $OUT"; else rm -rf "$OUT"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
[ "$(id -u)" = 0 ] || { echo "fwd.sh: run as root (namespaces, XDP, AF_XDP)." >&2; exit 2; }
for t in dotnet gcc ip ethtool dpdk-testpmd taskset python3; do
  command -v $t >/dev/null || { echo "fwd.sh: $t is missing; apt-get install it (dpdk-testpmd: apt-get install dpdk-dev)." >&2; exit 2; }
done

echo "== build"
dotnet build -c Release "$ROOT/bench/Skiff.Benchmarks" --artifacts-path "${ARTIFACTS:-/tmp/art-fwd}" -o "$OUT/bin" -v q -nologo >"$OUT/build.log" 2>&1 \
  || { cat "$OUT/build.log"; echo "fwd.sh: the benchmark build failed (above)." >&2; exit 1; }
dotnet build -c Release "$ROOT/src/Skiff.Cli" --artifacts-path "${ARTIFACTS:-/tmp/art-fwd}-cli" -o "$OUT/cli" -v q -nologo >"$OUT/build-cli.log" 2>&1 \
  || { cat "$OUT/build-cli.log"; echo "fwd.sh: the skiff build failed (above)." >&2; exit 1; }
BENCH="$OUT/bin/Skiff.Benchmarks.dll"; SKIFF="$OUT/cli/skiff.dll"
gcc -O2 -Wall -o "$OUT/xdp_drop_sink" "$ROOT/bench/native/xdp_drop_sink.c"

echo "== namespaces: generator $G ($VG) — $M ($VM0 $IPM0, $VM1 $IPM1) — sink $SN ($VS $IPS)"
for n in $G $M $SN; do ip netns add $n; ip -n $n link set lo up; done
ip link add $VG netns $G type veth peer name $VM0 netns $M
ip link add $VM1 netns $M type veth peer name $VS netns $SN
ip -n $G addr add $IPG/24 dev $VG; ip -n $M addr add $IPM0/24 dev $VM0; ip -n $M addr add $IPM1/24 dev $VM1; ip -n $SN addr add $IPS/24 dev $VS
for l in "$G $VG" "$M $VM0" "$M $VM1" "$SN $VS"; do set -- $l; ip -n $1 link set $2 up; ip netns exec $1 ethtool -K $2 gro on >/dev/null; done
ip -n $G link add ${VG}l type veth peer name ${VG}m
ip netns exec $G sysctl -qw net.ipv6.conf.${VG}l.disable_ipv6=1 net.ipv6.conf.${VG}m.disable_ipv6=1
ip -n $G link set ${VG}l up; ip -n $G link set ${VG}m up
MACM0=$(ip netns exec $M cat /sys/class/net/$VM0/address); MACS=$(ip netns exec $SN cat /sys/class/net/$VS/address)
ip -n $M neigh replace $IPS lladdr $MACS dev $VM1 nud permanent
ip netns exec $M sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0

gen_start() {
  ip netns exec $G taskset -c 0 dotnet "$BENCH" gen --iface $VG --dst-mac $MACM0 --dst-ip $IPS --src-ip $IPG \
    --generator loop --loop-iface ${VG}l --loop-peer-iface ${VG}m --copies $COPIES --in-flight $IN_FLIGHT --seconds $((S + 14)) --cpu 0 >"$OUT/gen.$1.log" 2>&1 &
  GEN_PID=$!; PIDS+=($GEN_PID); sleep 1.5
  kill -0 $GEN_PID 2>/dev/null || { cat "$OUT/gen.$1.log"; echo "fwd.sh: the generator did not start (above)." >&2; exit 1; }
}
gen_stop() { kill -TERM $GEN_PID 2>/dev/null || true; wait $GEN_PID 2>/dev/null || true; }

run_one() {
  local name=$1 r=$2 log="$OUT/$1.$2.log" fwd="" pps
  case $name in
    kernel) ip netns exec $M sysctl -qw net.ipv4.ip_forward=1 ;;
    skiff-io|skiff-mac|skiff-l3)
      local mode=${name#skiff-} args=(--iface $VM0)
      [ $mode = l3 ] && args+=(--ip $IPM0/24)
      args+=(--iface $VM1)
      [ $mode = l3 ] && args+=(--ip $IPM1/24)
      [ $mode = mac ] && args+=(--peer-mac $MACS)
      ip netns exec $M taskset -c 1 dotnet "$SKIFF" fwd --driver afxdp "${args[@]}" --mode $mode --busy-poll --stats-socket none \
        --seconds $((S + 8)) >"$log" 2>&1 &
      fwd=$!; PIDS+=($fwd); sleep 4
      # l3: the sink's kernel announces itself (an ARP request to the router) before its XDP program drops everything.
      [ $mode = l3 ] && ip netns exec $SN ping -c 1 -W 2 $IPM1 >/dev/null 2>&1 || true ;;
    dpdk-io|dpdk-mac)
      ip netns exec $M timeout -s INT $((S + 8)) dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci --no-huge -m 1024 --file-prefix skf$$ \
        --vdev net_af_xdp0,iface=$VM0,start_queue=0,queue_count=1 --vdev net_af_xdp1,iface=$VM1,start_queue=0,queue_count=1 -- \
        --forward-mode=${name#dpdk-} --eth-peer=1,$MACS --nb-cores=1 --stats-period 1 --total-num-mbufs=16384 </dev/null >"$log" 2>&1 &
      fwd=$!; PIDS+=($fwd); sleep 4 ;;
  esac
  gen_start "$name.$r"
  pps=$(xdp_sink_median $SN $VS $S "$OUT/xdp_drop_sink" "$log.sink") || pps=0  # its own file: testpmd writes its log at its own offset
  gen_stop
  [ -n "$fwd" ] && { kill -INT $fwd 2>/dev/null || true; wait $fwd 2>/dev/null || true; }
  [ $name = kernel ] && ip netns exec $M sysctl -qw net.ipv4.ip_forward=0
  printf "   round %d %-10s %9d pps through (load %s)\n" $r $name ${pps:-0} "$(cut -d' ' -f1-3 /proc/loadavg)"
  [ "${pps:-0}" -gt 0 ] && echo "$name $r $pps" >>"$OUT/results" || { echo "   $name round $r: nothing through; log:"; tail -15 "$log" | sed 's/^/     /'; }
}

SYSTEMS=${SYSTEMS:-"kernel skiff-io skiff-mac skiff-l3 dpdk-io dpdk-mac"}
echo "== $ROUNDS rounds of $S s: $SYSTEMS (generator CPU 0, forwarder CPU 1); load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 $ROUNDS); do for s in $SYSTEMS; do run_one $s $r; done; done
echo "== medians"
python3 "$ROOT/bench/lib/medians.py" "$OUT/results" Mpps \
  "skiff-io/kernel=(target >= 2x);skiff-io/dpdk-io=(target >= 1x)" "skiff-mac/kernel=(target >= 2x);skiff-mac/dpdk-mac=(target >= 1x)" \
  "skiff-l3/kernel=(target >= 2x)" "skiff-l3/dpdk-mac"
