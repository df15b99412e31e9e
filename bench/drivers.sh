#!/usr/bin/env bash
# Usage (root): bash bench/drivers.sh [SECONDS=8] [ROUNDS=3]
# Receive-and-drop rates of 64-byte UDP frames on a veth, one run side by side, interleaved per round:
#   skiff-afxdp    `skiff rxdrop --driver afxdp --ip A` (AfXdpDevice, copy mode, native XDP on veth, busy-poll)
#   skiff-afpacket `skiff rxdrop --driver afpacket` (AfPacketDevice, TPACKET_V3, busy-poll)
#   bench-afxdp    the benchmark harness's own rxdrop loop on AF_XDP (also prints the receiver's ns per frame)
#   kernel-udp     bench/native/udp_recvmmsg.c: a kernel UDP socket, recvmmsg batch 64, busy-poll (MSG_DONTWAIT)
#   dpdk-afxdp     dpdk-testpmd --vdev net_af_xdp rxonly (--no-huge)
#   xdp-drop       bench/native/xdp_drop_sink.c: XDP_DROP on A's veth, the cheapest receiver there is: the generator's own rate
# all fed by the same generator in namespace B, started from CPU 0; every receiver in namespace A pinned to CPU 1
# (taskset; testpmd: main lcore 0, forwarding lcore 1). GEN picks it:
#   loop  (default) XdpLoopFrameGenerator: frames circulate in a spare veth pair in B and an XDP program there broadcasts
#         COPIES (16) copies of each pass out of B's veth, IN_FLIGHT (4) frames in flight; XDP frames, no skb. It runs in
#         softirq on CPU 0 and keeps CPU 0 busy.
#   clone TcCloneFrameGenerator: a tcx program on a spare veth clones each frame written to it CLONES (64) times (skbs).
#   live  XdpLiveFrameGenerator (BPF_PROG_RUN live frames, XDP_TX): the generator of the runs before issue 11; Linux
#         6.18.44 refuses it (EPERM, even to root).
# GRO is on on A's veth so XDP frames reach A without an XDP program. On veth the receiver's kernel work (NAPI, XDP,
# the AF_XDP copy) runs on the generator's CPU: whole-machine figures. Each round prints every receiver's pps and the
# generator's own count for that run (frames it handed to the veth); xdp-drop's figure is the generator's rate.
# Prints per-round pps, the medians and the ratios Skiff-AF_XDP/kernel and Skiff-AF_XDP/DPDK, and each receiver's
# median against the generator's (near 1.00: the generator, not the receiver, set the figure).
# SYSTEMS="skiff-afxdp skiff-afxdp-fill2048" picks systems (fill2048: the fill-ring target before the fix).
#   skiff-afxdp-filter  skiff rxdrop on AF_XDP with an RX hook running a tcpdump filter that keeps every frame
#                       (FILTER, default 'ip or not ip'): the hook chain's cost against skiff-afxdp's empty chain
#   skiff-afxdp-base    skiff rxdrop on AF_XDP built from git revision BASE (bench/build-base.sh): an A/B in one run
#   skiff-afxdp-capnone skiff rxdrop on AF_XDP with a live capture of the RX point whose filter matches nothing
#                       ('tcp port 7'; the generator sends UDP): what an attached capture costs when it copies nothing
#   skiff-afxdp-capall  the same capture with no filter at snap length 128: every frame copied into its ring, the
#                       capture's thread writing pcapng (to nowhere) on the receiver's CPU
#   dpdk-afxdp-huge     dpdk-afxdp on hugepages (multi-process needs them): the anchor of dpdk-afxdp-dumpcap
#   dpdk-afxdp-dumpcap  dpdk-afxdp-huge with dpdk-dumpcap attached (-s 128 -w /dev/null, every frame), on the
#                       receiver's CPU like Skiff's capture thread
# PRIO=-10 runs generator and receivers at that nice value (all alike), to shield them from other load.
# KEEP=1 keeps the logs (printed path). Needs: dotnet, gcc, iproute2, ethtool, dpdk-dev (dpdk-testpmd). Creates and removes two
# namespaces and three veth pairs.
set -euo pipefail
S=${1:-8}; ROUNDS=${2:-3}; PRIO=${PRIO:-0}; GEN=${GEN:-loop}; COPIES=${COPIES:-16}; IN_FLIGHT=${IN_FLIGHT:-4}; CLONES=${CLONES:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp -d /tmp/skiff-drivers.XXXXXX)
A=skd-a-$$; B=skd-b-$$; VA=skda$$; VB=skdb$$
IPA=10.78.0.1; IPB=10.78.0.2
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "logs kept in $OUT"; else rm -rf "$OUT"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "drivers.sh: run as root (namespaces, XDP, AF_XDP)." >&2; exit 2; }
for t in dotnet gcc ip ethtool dpdk-testpmd taskset python3; do
  command -v $t >/dev/null || { echo "drivers.sh: $t is missing; apt-get install it (dpdk-testpmd: apt-get install dpdk-dev)." >&2; exit 2; }
done

echo "== build"
dotnet build -c Release "$ROOT/bench/Skiff.Benchmarks" --artifacts-path "${ARTIFACTS:-/tmp/art-rx}" -o "$OUT/bin" -v q -nologo >"$OUT/build.log" 2>&1 \
  || { cat "$OUT/build.log"; echo "drivers.sh: the benchmark build failed (above)." >&2; exit 1; }
BENCH="$OUT/bin/Skiff.Benchmarks.dll"
dotnet build -c Release "$ROOT/src/Skiff.Cli" --artifacts-path "${ARTIFACTS:-/tmp/art-rx}-cli" -o "$OUT/cli" -v q -nologo >"$OUT/build-cli.log" 2>&1 \
  || { cat "$OUT/build-cli.log"; echo "drivers.sh: the skiff build failed (above)." >&2; exit 1; }
SKIFF="$OUT/cli/skiff.dll"
gcc -O2 -Wall -o "$OUT/udp_recvmmsg" "$ROOT/bench/native/udp_recvmmsg.c"
gcc -O2 -Wall -o "$OUT/xdp_drop_sink" "$ROOT/bench/native/xdp_drop_sink.c"

echo "== namespaces $A (receivers, $VA $IPA) and $B (generator, $VB $IPB)"
ip netns add $A; ip netns add $B
ip link add $VA netns $A type veth peer name $VB netns $B
ip -n $A addr add $IPA/24 dev $VA; ip -n $B addr add $IPB/24 dev $VB
ip -n $A link set $VA up; ip -n $B link set $VB up; ip -n $A link set lo up; ip -n $B link set lo up
ip netns exec $A ethtool -K $VA gro on >/dev/null
# Spare veth pairs in B that carry nothing else. loop: the loop generator's frames circulate in ${VB}l/${VB}m (its program
# sits on ${VB}m). clone: the tc program sits at ${VB}t's egress. live: the XDP_TX program is attached natively to ${VB}h
# to keep it in the kernel's XDP dispatcher, so each BPF_PROG_RUN call skips two RCU grace periods (without it the
# generator's CPU idled about 40 % of the time and offered half the frames).
for pair in "${VB}l ${VB}m" "${VB}t ${VB}u" "${VB}h ${VB}g"; do
  set -- $pair
  ip -n $B link add $1 type veth peer name $2
  ip netns exec $B sysctl -qw net.ipv6.conf.$1.disable_ipv6=1 net.ipv6.conf.$2.disable_ipv6=1
  ip -n $B link set $1 up; ip -n $B link set $2 up
done
MACA=$(ip netns exec $A cat /sys/class/net/$VA/address)
case $GEN in
  loop)  GENARGS=(--generator loop --loop-iface ${VB}l --loop-peer-iface ${VB}m --copies $COPIES --in-flight $IN_FLIGHT) ;;
  clone) GENARGS=(--generator clone --trigger-iface ${VB}t --clones $CLONES) ;;
  live)  GENARGS=(--generator live --hold-iface ${VB}h) ;;
  *) echo "drivers.sh: GEN is loop, clone or live, not '$GEN'." >&2; exit 2 ;;
esac

# gen_start NAME: the generator in B from CPU 0, long enough to cover the receiver's start-up and S seconds.
gen_start() {
  ip netns exec $B nice -n $PRIO taskset -c 0 dotnet "$BENCH" gen --iface $VB --dst-mac $MACA --dst-ip $IPA --src-ip $IPB \
    "${GENARGS[@]}" --seconds $((S + 12)) --cpu 0 >"$OUT/gen.$1.log" 2>&1 &
  GEN_PID=$!; PIDS+=($GEN_PID); sleep 1.5
  if ! kill -0 $GEN_PID 2>/dev/null; then cat "$OUT/gen.$1.log"; echo "drivers.sh: the generator ($GEN) did not start (above)." >&2; exit 1; fi
}
gen_stop() { kill -TERM $GEN_PID 2>/dev/null || true; wait $GEN_PID 2>/dev/null || true; }

# run_one NAME ROUND: one receiver for S seconds under the generator; prints and records its median pps.
run_one() {
  local name=$1 r=$2 log="$OUT/$1.$2.log" pps
  gen_start "$name.$r"
  case $name in
    skiff-afxdp)    ip netns exec $A nice -n $PRIO taskset -c 1 dotnet "$SKIFF" rxdrop --driver afxdp --iface $VA --ip $IPA --seconds $S >"$log" 2>&1 || true ;;
    skiff-afxdp-filter) ip netns exec $A nice -n $PRIO taskset -c 1 dotnet "$SKIFF" rxdrop --driver afxdp --iface $VA --ip $IPA --seconds $S --filter "${FILTER:-ip or not ip}" >"$log" 2>&1 || true ;;
    skiff-afxdp-capnone) ip netns exec $A nice -n $PRIO taskset -c 1 dotnet "$SKIFF" rxdrop --driver afxdp --iface $VA --ip $IPA --seconds $S --capture 'tcp port 7' >"$log" 2>&1 || true ;;
    skiff-afxdp-capall)  ip netns exec $A nice -n $PRIO taskset -c 1 dotnet "$SKIFF" rxdrop --driver afxdp --iface $VA --ip $IPA --seconds $S --capture '' --capture-snaplen 128 >"$log" 2>&1 || true ;;
    dpdk-afxdp-huge|dpdk-afxdp-dumpcap)
      [ "$(awk '/HugePages_Total/{print $2}' /proc/meminfo)" -ge 256 ] || echo 300 > /proc/sys/vm/nr_hugepages
      mountpoint -q /dev/hugepages || { mkdir -p /dev/hugepages; mount -t hugetlbfs nodev /dev/hugepages; }
      ip netns exec $A nice -n $PRIO timeout -s INT $((S + 6)) dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci -m 512 \
        --file-prefix skd$$ --vdev net_af_xdp0,iface=$VA,start_queue=0,queue_count=1 -- \
        --forward-mode=rxonly --nb-cores=1 --stats-period 1 --total-num-mbufs=16384 </dev/null >"$log" 2>&1 &
      local tp=$!
      if [ $name = dpdk-afxdp-dumpcap ]; then
        sleep 3
        ip netns exec $A nice -n $PRIO taskset -c 1 dpdk-dumpcap --file-prefix=skd$$ -i 0 -s 128 -w /dev/null -a duration:$S >"$log.dumpcap" 2>&1 || true
      fi
      wait $tp || true ;;
    skiff-afxdp-base)
      [ -f "$OUT/base/skiff.dll" ] || bash "$ROOT/bench/build-base.sh" "${BASE:?skiff-afxdp-base needs BASE=REV}" "$OUT/base" >/dev/null
      ip netns exec $A nice -n $PRIO taskset -c 1 dotnet "$OUT/base/skiff.dll" rxdrop --driver afxdp --iface $VA --ip $IPA --seconds $S >"$log" 2>&1 || true ;;
    bench-afxdp)    ip netns exec $A nice -n $PRIO taskset -c 1 dotnet "$BENCH" rxdrop --driver afxdp --iface $VA --ip $IPA --seconds $S >"$log" 2>&1 || true ;;
    skiff-afxdp-fill2048) ip netns exec $A nice -n $PRIO taskset -c 1 dotnet "$BENCH" rxdrop --driver afxdp --iface $VA --ip $IPA --fill-frames 2048 --seconds $S >"$log" 2>&1 || true ;;
    skiff-afpacket) ip netns exec $A nice -n $PRIO taskset -c 1 dotnet "$SKIFF" rxdrop --driver afpacket --iface $VA --seconds $S >"$log" 2>&1 || true ;;
    kernel-udp)     ip netns exec $A nice -n $PRIO taskset -c 1 "$OUT/udp_recvmmsg" 9 $S >"$log" 2>&1 || true ;;
    xdp-drop)       # The sink holds XDP_DROP for S seconds; its figure is the median of the veth's XDP drops per second.
                    ip netns exec $A taskset -c 1 "$OUT/xdp_drop_sink" $VA $((S + 1)) >"$log" 2>&1 &
                    local sink=$!; sleep 1
                    local prev now
                    prev=$(ip netns exec $A ethtool -S $VA | awk '/rx_queue_0_xdp_drops/{print $2}')
                    for i in $(seq 1 $((S - 1))); do
                      sleep 1; now=$(ip netns exec $A ethtool -S $VA | awk '/rx_queue_0_xdp_drops/{print $2}')
                      echo "xdp-drop second $i: $((now - prev)) pps" >>"$log"; prev=$now
                    done
                    wait $sink 2>/dev/null || true
                    grep -o 'second [0-9]*: [0-9]*' "$log" | awk '{print $3}' | sort -n \
                      | awk '{a[NR]=$1} END{if(NR){m=(NR%2)?a[(NR+1)/2]:int((a[NR/2]+a[NR/2+1])/2); print "xdp-drop median: " m}}' >>"$log" ;;
    dpdk-afxdp)     ip netns exec $A nice -n $PRIO timeout -s INT $((S + 6)) dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci --no-huge -m 1024 \
                      --file-prefix skd$$ --vdev net_af_xdp0,iface=$VA,start_queue=0,queue_count=1 -- \
                      --forward-mode=rxonly --nb-cores=1 --stats-period 1 --total-num-mbufs=16384 </dev/null >"$log" 2>&1 || true ;;
  esac
  gen_stop
  # testpmd stopped by a signal can leave its XDP program on the veth, which the next receiver then cannot attach.
  [[ $name = dpdk-afxdp* ]] && { ip -n $A link set dev $VA xdp off 2>/dev/null || true; }
  if [[ $name = dpdk-afxdp* ]]; then
    # testpmd prints Rx-pps each second; leave out the zeros and the first (start-up) and take the median.
    pps=$(grep -o 'Rx-pps: *[0-9]*' "$log" | awk '$2 > 0 {print $2}' | tail -n +2 | sort -n | awk '{a[NR]=$1} END{if(NR==0)print 0; else if(NR%2)print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}' || true)
  else
    # skiff rxdrop prints "median 3,712,000 pps over 8 s"; the harness "median: 3712000".
    pps=$(grep -oE 'median:? [0-9,]+' "$log" | tr -d ',' | awk '{print $2}' | tail -1 || true)
  fi
  pps=${pps:-0}
  if [ "$pps" = 0 ]; then
    # A round that printed no figure is reported and left out of the medians (a 0 would drag them down).
    echo "   $name round $r: no figure (left out of the median); log:"; tail -25 "$log" | sed 's/^/     /'
    return 0
  fi
  # The generator's own count over the receiver's window: its per-second figures without the first two (the receiver
  # starting) and the last (cut short by the stop), medianed.
  local gen; gen=$(grep -o 'gen second [0-9]*: [0-9]*' "$OUT/gen.$name.$r.log" | awk '{print $4}' | tail -n +3 | head -n -1 | sort -n \
    | awk '{a[NR]=$1} END{if(NR){print (NR%2)?a[(NR+1)/2]:int((a[NR/2]+a[NR/2+1])/2)}}' || true)
  echo "gen-$name $r ${gen:-0}" >>"$OUT/results.gen"
  local cost; cost=$(grep -o 'cost: [0-9.]* ns' "$log" | awk '{print "; receiver " $2 " ns/frame"}' || true)
  printf "   round %d %-15s %9d pps  (generator's own count %s pps%s; load %s)\n" $r $name $pps "${gen:-?}" "$cost" "$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "$name $r $pps" >>"$OUT/results"
}

SYSTEMS=${SYSTEMS:-"xdp-drop skiff-afxdp skiff-afpacket kernel-udp dpdk-afxdp"}
echo "== $ROUNDS rounds of $S s each: $SYSTEMS (generator $GEN from CPU 0, receiver CPU 1, nice $PRIO); load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 $ROUNDS); do
  for s in $SYSTEMS; do run_one $s $r; done
done

echo "== medians over $ROUNDS rounds"
python3 - "$OUT/results" "$OUT/results.gen" <<'PY'
import sys, statistics
rows, gens = {}, {}
for line in open(sys.argv[1]):
    n, r, p = line.split(); rows.setdefault(n, []).append(int(p))
for line in open(sys.argv[2]):
    n, r, p = line.split(); gens.setdefault(n[4:], []).append(int(p))
med = {n: statistics.median(v) for n, v in rows.items()}
for n, v in rows.items():
    g = statistics.median(gens[n]) if gens.get(n) else 0
    own = f"   generator's own count {g/1e6:5.2f} Mpps, receiver/generator {med[n]/g:.2f}" if g else ""
    print(f"   {n:15s} median {med[n]/1e6:6.2f} Mpps   rounds: {' '.join(f'{x/1e6:.2f}' for x in v)}{own}")
def ratio(a, b):
    return f"{med[a]/med[b]:.2f}x" if a in med and med.get(b) else "n/a"
print(f"   ratio skiff-afxdp / kernel-udp  = {ratio('skiff-afxdp', 'kernel-udp')}  (target >= 2.5x)")
print(f"   ratio skiff-afxdp / dpdk-afxdp  = {ratio('skiff-afxdp', 'dpdk-afxdp')}  (target >= 0.9x)")
print(f"   ratio skiff-afpacket / kernel-udp = {ratio('skiff-afpacket', 'kernel-udp')}")
if 'skiff-afxdp-filter' in med:
    print(f"   ratio skiff-afxdp-filter / skiff-afxdp (a filter hook that keeps every frame / the empty chain) = {ratio('skiff-afxdp-filter', 'skiff-afxdp')}")
for n in ('skiff-afxdp-capnone', 'skiff-afxdp-capall'):
    if n in med:
        print(f"   ratio {n} / skiff-afxdp (a live capture attached / none) = {ratio(n, 'skiff-afxdp')}" + ("  (target: cost under 3 %, >= 0.97x)" if n.endswith('none') else ""))
if 'dpdk-afxdp-dumpcap' in med:
    print(f"   ratio dpdk-afxdp-dumpcap / dpdk-afxdp-huge (dpdk-dumpcap attached / none) = {ratio('dpdk-afxdp-dumpcap', 'dpdk-afxdp-huge')}")
if 'skiff-afxdp-base' in med:
    print(f"   ratio skiff-afxdp / skiff-afxdp-base (this tree / the base revision, A/B) = {ratio('skiff-afxdp', 'skiff-afxdp-base')}")
if 'xdp-drop' in med:
    fastest = max((n for n in med if n != 'xdp-drop'), key=lambda n: med[n], default=None)
    if fastest:
        print(f"   generator's own rate (into XDP_DROP) / fastest receiver ({fastest}) = {ratio('xdp-drop', fastest)}  (1.5x or more: the generator is not the bottleneck)")
if 'skiff-afxdp-fill2048' in med:
    print(f"   ratio skiff-afxdp / skiff-afxdp-fill2048 (after / before the fill-ring fix) = {ratio('skiff-afxdp', 'skiff-afxdp-fill2048')}")
PY
echo "   TCP single-stream row (kernel iperf3 client to Skiff): not measured by this script."
