#!/usr/bin/env bash
# Usage (root): bash bench/udp-echo.sh [SECONDS=5] [ROUNDS=3]
# UDP echo, Skiff against the kernel, over one veth pair between two namespaces, in one run:
#   kernel          bench/native/udp_echo_mmsg.c: a kernel UDP socket, recvmmsg + sendmmsg batch 64, busy-polling
#   kernel-block    the same server blocking in recvmmsg (MSG_WAITFORONE) instead of spinning
#   skiff-afxdp     skiff serve --udp-echo on AF_XDP (copy mode on veth, native XDP, Skiff's program steering its address)
#   skiff-afpacket  skiff serve --udp-echo on AF_PACKET (TPACKET_V3)
#   dpdk-afxdp      DPDK 22.11 dpdk-testpmd --vdev net_af_xdp in 5tswap mode: it swaps the MAC and IP addresses and the
#                   UDP ports of every frame and sends it back, an echo with no stack at all (the AF_XDP bound; its XDP
#                   program takes every frame of the queue, so the client reaches it at an address no one else owns,
#                   with a static ARP entry). Main and forwarding lcores both on CPU 1. Not in the default SYSTEMS.
# every server in namespace S pinned to CPU 1, the same client (bench/native/udp_echo_client.c) in namespace C
# pinned to CPU 0. For each server the client runs twice:
#   closed loop: WINDOW requests outstanding (default 64), echoes/s = the echo capacity, RTT at saturation;
#   open loop:   a fixed RATE (default 50000 pps), RTT at a moderate load (the fair p99 comparison).
# Systems are interleaved per round (A B C A B C ...); medians over the rounds and the Skiff/kernel ratios
# of the same run are printed at the end. Per client run the script also prints how busy each CPU was
# (user, system, softirq, idle from /proc/stat). On veth the receiver's kernel work runs on the sender's
# CPU (the server's receive path on CPU 0 next to the client, the client's receive path on CPU 1), so
# every figure is a whole-machine figure.
# The client sends each batch with UDP GSO (UDP_SEGMENT, segmented in software on C's side before the veth), so
# every server receives ordinary SIZE-byte datagrams while the client spends one trip through its socket and IP
# layers per batch: without it the client's CPU, not the server, set the rate (GSO=0 turns it off).
# Transmit checksum offload is off on C's veth for every row (AF_XDP on veth cannot see unfinished checksums,
# docs/drivers.md), so every server receives the same finished frames.
# Priority: the machine is shared and its kernel groups tasks by session (sched_autogroup), so plain nice does not
# shield a busy-polling server from other sessions' builds (a server at nice 0 got about half of its CPU and
# stalled for milliseconds). Every server and client therefore runs in its own session (setsid) with its autogroup
# and nice set to PRIO (default -15), all systems alike; PRIO=0 measures without that.
# Warm-up: every server starts fresh each round, and a .NET server needs a few seconds of load before tiered JIT
# has compiled its loop's code optimised (with a 1 s warm-up Skiff measured 398-436k echoes/s and a 2.2 ms p99.9 at
# saturation, with 4 s 563-586k and 0.25 ms, back to back). So 3 s of load are not measured; the C servers
# (kernel, DPDK) are unaffected.
# Environment: WINDOW=64 RATE=50000 SIZE=64 BATCH=32 (client syscall batch) GSO=1 WARMUP=3 (s, not measured)
#   SYSTEMS="kernel kernel-block skiff-afxdp skiff-afpacket" (add dpdk-afxdp for the DPDK row) PRIO=-15 KEEP=1 (keep the logs)
#   skiff-afxdp-busy runs serve with --busy-poll (never sleeps, as DPDK and the busy-polling kernel row), and
#   skiff-afxdp-yield with --yield-us YIELD_US (default 0: block in poll(2) after 128 idle yields; serve's own default
#   is 1000 us of yielding first).
#   BASE=REV adds nothing by itself; with SYSTEMS="... skiff-afxdp-base" (or skiff-afpacket-base) that row runs the CLI of
#   git revision REV (bench/build-base.sh), interleaved with the current tree's rows: an A/B in one run.
# Needs: dotnet, gcc, iproute2 (ip), ethtool, taskset (util-linux), python3. Creates and removes two namespaces and a veth.
set -euo pipefail
S=${1:-5}; ROUNDS=${2:-3}
WINDOW=${WINDOW:-64}; RATE=${RATE:-50000}; SIZE=${SIZE:-64}; BATCH=${BATCH:-32}; WARMUP=${WARMUP:-3}; GSO=${GSO:-1}; PRIO=${PRIO:-"-15"}
SYSTEMS=${SYSTEMS:-"kernel kernel-block skiff-afxdp skiff-afpacket"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

[ "$(id -u)" = 0 ] || { echo "run as root: bench/udp-echo.sh creates network namespaces, a veth pair and attaches XDP." >&2; exit 2; }
for t in dotnet gcc ip ethtool taskset python3; do
  command -v $t >/dev/null || { echo "udp-echo.sh: $t is missing; install it (apt-get install gcc iproute2 ethtool util-linux python3; dotnet: the .NET 10 SDK)." >&2; exit 2; }
done
case "$S$ROUNDS$WINDOW$RATE$SIZE$BATCH${PRIO#-}" in *[!0-9]*) echo "udp-echo.sh: SECONDS, ROUNDS, WINDOW, RATE, SIZE and BATCH must be whole numbers (PRIO may be negative)." >&2; exit 2 ;; esac

OUT=$(mktemp -d /tmp/skiff-udp-echo.XXXXXX)
NS=sku-s-$$; NC=sku-c-$$; VS=skus$$; VC=skuc$$
IPC=10.80.0.1; IPSKIFF=10.80.0.2; IPKERNEL=10.80.0.3; IPDPDK=10.80.0.4; PORT=7
SERVER=""; SERVER_JOB=""
cleanup() {
  if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER_JOB" 2>/dev/null || true; fi
  ip netns del $NS 2>/dev/null || true; ip netns del $NC 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "logs kept in $OUT"; else rm -rf "$OUT"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== build (Release)"
dotnet build -c Release "$ROOT/src/Skiff.Cli" --artifacts-path "${ARTIFACTS:-/tmp/skiff-udp-echo-art}" -o "$OUT/bin" -v q -nologo >"$OUT/build.log" 2>&1 \
  || { cat "$OUT/build.log"; echo "udp-echo.sh: the Skiff build failed (above)." >&2; exit 1; }
SKIFF="$OUT/bin/skiff.dll"
[ -f "$SKIFF" ] || { echo "udp-echo.sh: $SKIFF was not built." >&2; exit 1; }
if [ -n "${BASE:-}" ]; then
  # BASE=REV: the skiff-*-base systems run the CLI of that revision, for an interleaved A/B in one run.
  bash "$ROOT/bench/build-base.sh" "$BASE" "$OUT/base-bin"
fi
SKIFF_BASE="$OUT/base-bin/skiff.dll"
gcc -O2 -Wall -o "$OUT/udp_echo_mmsg" "$ROOT/bench/native/udp_echo_mmsg.c"
gcc -O2 -Wall -o "$OUT/udp_echo_client" "$ROOT/bench/native/udp_echo_client.c"

echo "== namespaces $NS (servers: $VS, Skiff $IPSKIFF, kernel $IPKERNEL) and $NC (client: $VC $IPC)"
ip netns add $NS; ip netns add $NC
ip link add $VS netns $NS type veth peer name $VC netns $NC
ip -n $NS addr add $IPKERNEL/24 dev $VS; ip -n $NC addr add $IPC/24 dev $VC
ip -n $NS link set lo up; ip -n $NC link set lo up; ip -n $NS link set $VS up; ip -n $NC link set $VC up
ip netns exec $NC ethtool -K $VC tx off >/dev/null
ip -n $NC neigh replace $IPDPDK lladdr "$(ip netns exec $NS cat /sys/class/net/$VS/address)" dev $VC

# cpu_snap: "user system softirq idle total" jiffies of cpu0 and cpu1 from /proc/stat, on one line.
cpu_snap() { awk '/^cpu[01] / {printf "%d %d %d %d %d ", $2+$3, $4, $7+$8, $5+$6, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
# cpu_share BEFORE AFTER: "cpu0 us/sy/si/idle % | cpu1 ..."
cpu_share() {
  python3 - "$1" "$2" <<'PY'
import sys
a = list(map(int, sys.argv[1].split())); b = list(map(int, sys.argv[2].split()))
out = []
for c in range(2):
    d = [b[c*5+i] - a[c*5+i] for i in range(5)]
    tot = d[4] or 1
    out.append(f"cpu{c} usr {100*d[0]/tot:.0f} sys {100*d[1]/tot:.0f} si {100*d[2]/tot:.0f} idle {100*d[3]/tot:.0f}")
# The server process's own share of CPU 1 (user, system incl. the softirq work done in its syscalls).
tot1 = (b[9] - a[9]) or 1
out.append(f"server usr {100*(b[10]-a[10])/tot1:.0f} sys {100*(b[11]-a[11])/tot1:.0f}")
print(" | ".join(out))
PY
}

# in_ns NS CPU PIDFILE CMD...: CMD in namespace NS, pinned to CPU, in a session of its own whose autogroup and nice
# are PRIO; CMD's process id is written to PIDFILE (setsid may fork, so $! is not always CMD). setsid -w waits for
# CMD, so a background in_ns lives as long as CMD.
in_ns() {
  local ns=$1 cpu=$2 pidfile=$3; shift 3
  ip netns exec $ns setsid -w sh -c 'p=$0 c=$1 f=$2; shift 2; echo $$ >"$f"; echo "$p" >/proc/self/autogroup 2>/dev/null || true
    exec nice -n "$p" taskset -c "$c" "$@"' "$PRIO" "$cpu" "$pidfile" "$@"
}
# proc_cpu PID: "utime stime" in clock ticks.
proc_cpu() { awk '{print $14, $15}' /proc/$1/stat 2>/dev/null || echo "0 0"; }

# server_start NAME ROUND: starts the server in NS on CPU 1 and waits until it serves; sets SERVER and DST.
server_start() {
  local name=$1 log="$OUT/server.$1.$2.log"
  rm -f "$OUT/server.pid"
  case $name in
    kernel)       in_ns $NS 1 "$OUT/server.pid" "$OUT/udp_echo_mmsg" --addr $IPKERNEL --port $PORT >"$log" 2>&1 & DST=$IPKERNEL ;;
    kernel-block) in_ns $NS 1 "$OUT/server.pid" "$OUT/udp_echo_mmsg" --addr $IPKERNEL --port $PORT --block >"$log" 2>&1 & DST=$IPKERNEL ;;
    skiff-afxdp)  in_ns $NS 1 "$OUT/server.pid" dotnet "$SKIFF" serve --driver afxdp --iface $VS --ip $IPSKIFF/24 --udp-echo $PORT >"$log" 2>&1 & DST=$IPSKIFF ;;
    skiff-afpacket) in_ns $NS 1 "$OUT/server.pid" dotnet "$SKIFF" serve --driver afpacket --iface $VS --ip $IPSKIFF/24 --udp-echo $PORT >"$log" 2>&1 & DST=$IPSKIFF ;;
    skiff-afxdp-busy) in_ns $NS 1 "$OUT/server.pid" dotnet "$SKIFF" serve --driver afxdp --iface $VS --ip $IPSKIFF/24 --udp-echo $PORT --busy-poll >"$log" 2>&1 & DST=$IPSKIFF ;;
    skiff-afxdp-yield) in_ns $NS 1 "$OUT/server.pid" dotnet "$SKIFF" serve --driver afxdp --iface $VS --ip $IPSKIFF/24 --udp-echo $PORT --yield-us ${YIELD_US:-0} >"$log" 2>&1 & DST=$IPSKIFF ;;
    skiff-afxdp-base|skiff-afpacket-base)
                  [ -f "$SKIFF_BASE" ] || { echo "udp-echo.sh: $name needs BASE=REV (the revision to compare with)." >&2; exit 2; }
                  d=${name#skiff-}; d=${d%-base}
                  in_ns $NS 1 "$OUT/server.pid" dotnet "$SKIFF_BASE" serve --driver $d --iface $VS --ip $IPSKIFF/24 --udp-echo $PORT >"$log" 2>&1 & DST=$IPSKIFF ;;
    dpdk-afxdp)   command -v dpdk-testpmd >/dev/null || { echo "udp-echo.sh: dpdk-afxdp needs dpdk-testpmd: apt-get install dpdk." >&2; exit 2; }
                  in_ns $NS 1 "$OUT/server.pid" dpdk-testpmd --lcores '0@1,1@1' --main-lcore 0 --no-pci --no-huge -m 1024 --file-prefix sku$$ \
                    --vdev net_af_xdp0,iface=$VS,start_queue=0,queue_count=1 -- --forward-mode=5tswap --nb-cores=1 --stats-period 1 \
                    --total-num-mbufs=16384 </dev/null >"$log" 2>&1 & DST=$IPDPDK ;;
    *) echo "udp-echo.sh: unknown system '$name' (kernel, kernel-block, skiff-afxdp, skiff-afpacket, dpdk-afxdp)." >&2; exit 2 ;;
  esac
  SERVER_JOB=$!
  for _ in $(seq 1 50); do [ -s "$OUT/server.pid" ] && break; sleep 0.1; done
  SERVER=$(cat "$OUT/server.pid" 2>/dev/null || true)
  [ -n "$SERVER" ] || { echo "udp-echo.sh: $name did not start (no process id)." >&2; exit 1; }
  local ready="udp_echo_mmsg: "; case $name in skiff-*) ready="answering ARP" ;; dpdk-*) ready="packet forwarding - ports" ;; esac
  for _ in $(seq 1 300); do
    grep -q "$ready" "$log" 2>/dev/null && return 0
    kill -0 $SERVER 2>/dev/null || break
    sleep 0.1
  done
  echo "udp-echo.sh: $name did not start; its log:" >&2; cat "$log" >&2; exit 1
}
server_stop() { kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER_JOB" 2>/dev/null || true; SERVER=""; }

# client NAME ROUND MODE: runs the client on CPU 0 against DST, prints its summary, records its RESULT line.
client() {
  local name=$1 r=$2 mode=$3 log="$OUT/client.$1.$2.$3.log" args before after
  if [ "$mode" = closed ]; then args="--window $WINDOW"; else args="--rate $RATE"; fi
  [ "$GSO" = 0 ] || args="$args --gso"
  before="$(cpu_snap) $(proc_cpu $SERVER)"
  in_ns $NC 0 "$OUT/client.pid" "$OUT/udp_echo_client" --dst $DST --port $PORT --size $SIZE --batch $BATCH \
    --warmup $WARMUP --seconds $S --label $name $args >"$log" 2>&1 || { echo "udp-echo.sh: the client failed against $name:" >&2; cat "$log" >&2; exit 1; }
  after="$(cpu_snap) $(proc_cpu $SERVER)"
  local res; res=$(grep '^RESULT ' "$log" | tail -1)
  [ -n "$res" ] || { echo "udp-echo.sh: no RESULT from the client against $name:" >&2; cat "$log" >&2; exit 1; }
  local cpu; cpu=$(cpu_share "$before" "$after")
  echo "$res round=$r cpu=\"$cpu\"" >>"$OUT/results"
  python3 - "$res" "$r" "$cpu" <<'PY'
import sys
kv = dict(p.split("=", 1) for p in sys.argv[1].split()[1:])
print(f"   round {sys.argv[2]} {kv['label']:15s} {kv['mode']:6s} {float(kv['pps'])/1e3:8.1f} k echoes/s  RTT us p50 {kv['p50_us']:>7s} "
      f"p99 {kv['p99_us']:>8s} p99.9 {kv['p999_us']:>8s}  lost {kv['lost']} ({kv['loss_pct']} %)  client idle {kv['client_idle_pct']} %, CPU {kv['client_cpu_pct']} %")
print(f"        {sys.argv[3]}")
PY
}

echo "== $ROUNDS rounds: $SYSTEMS; each: closed loop (window $WINDOW) then open loop ($RATE pps), $SIZE-byte payloads, client GSO $GSO,"
echo "   warm-up $WARMUP s + $S s measured; servers on CPU 1, client on CPU 0, nice $PRIO; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 $ROUNDS); do
  for s in $SYSTEMS; do
    server_start $s $r
    client $s $r closed
    client $s $r open
    server_stop
    case $s in
      skiff-*) grep -E 'udp echo|drops:|engine:' "$OUT/server.$s.$r.log" | sed 's/^ */        server: /' || true ;;
      dpdk-*) grep -E 'RX-packets|TX-packets' "$OUT/server.$s.$r.log" | tail -2 | sed 's/^ */        server: /' || true ;;
      *) grep 'stopped' "$OUT/server.$s.$r.log" | sed 's/^/        server: /' || true ;;
    esac
  done
done

echo "== medians over $ROUNDS rounds (load now $(cut -d' ' -f1-3 /proc/loadavg))"
python3 - "$OUT/results" "$WINDOW" "$RATE" <<'PY'
import sys, statistics, shlex
rows = {}
for line in open(sys.argv[1]):
    kv = dict(p.split("=", 1) for p in shlex.split(line)[1:])
    rows.setdefault((kv["label"], kv["mode"]), []).append(kv)
window, rate = sys.argv[2], sys.argv[3]
def med(label, mode, key):
    v = [float(k[key]) for k in rows.get((label, mode), [])]
    return statistics.median(v) if v else None
labels = []
for (l, _m) in rows:
    if l not in labels: labels.append(l)
print(f"   {'server':15s} | closed loop, window {window:>3s}: {'echoes/s':>9s} {'p50 us':>8s} {'p99 us':>8s} {'loss %':>7s} | open loop {rate} pps: {'p50 us':>7s} {'p90 us':>7s} {'p99 us':>8s} {'p99.9 us':>9s} {'loss %':>7s}")
for l in labels:
    c = lambda k: med(l, "closed", k); o = lambda k: med(l, "open", k)
    f = lambda x, fmt: format(x, fmt) if x is not None else "-"
    print(f"   {l:15s} | {'':21s}{f(c('pps'), '9.0f')} {f(c('p50_us'), '8.1f')} {f(c('p99_us'), '8.1f')} {f(c('loss_pct'), '7.3f')} |"
          f" {'':17s}{f(o('p50_us'), '7.1f')} {f(o('p90_us'), '7.1f')} {f(o('p99_us'), '8.1f')} {f(o('p999_us'), '9.1f')} {f(o('loss_pct'), '7.3f')}")
    print(f"   {'':15s} |   rounds echoes/s: {' '.join('%.0fk' % (float(k['pps'])/1e3) for k in rows.get((l, 'closed'), []))};"
          f" open-loop p99: {' '.join(k['p99_us'] for k in rows.get((l, 'open'), []))}")
def ratio(a, b, mode, key):
    x, y = med(a, mode, key), med(b, mode, key)
    return f"{x / y:.2f}x" if x is not None and y else "n/a"
for s in ("skiff-afxdp", "skiff-afxdp-busy", "skiff-afxdp-yield", "skiff-afpacket", "skiff-afxdp-base", "skiff-afpacket-base", "dpdk-afxdp"):
    if (s, "closed") not in rows: continue
    for k in ("kernel", "kernel-block"):
        if (k, "closed") not in rows: continue
        print(f"   {s} / {k}: echoes/s {ratio(s, k, 'closed', 'pps')} (target >= 2x), p99 at saturation {ratio(s, k, 'closed', 'p99_us')},"
              f" p99 at {rate} pps {ratio(s, k, 'open', 'p99_us')} (target <= 1.00x), p50 at {rate} pps {ratio(s, k, 'open', 'p50_us')},"
              f" p90 at {rate} pps {ratio(s, k, 'open', 'p90_us')}")
for d in ("afxdp", "afpacket"):
    if (f"skiff-{d}", "closed") in rows and (f"skiff-{d}-base", "closed") in rows:
        print(f"   skiff-{d} / skiff-{d}-base (A/B): echoes/s {ratio(f'skiff-{d}', f'skiff-{d}-base', 'closed', 'pps')},"
              f" p99 at {rate} pps {ratio(f'skiff-{d}', f'skiff-{d}-base', 'open', 'p99_us')}")
if ("skiff-afxdp", "closed") in rows and ("dpdk-afxdp", "closed") in rows:
    print(f"   skiff-afxdp / dpdk-afxdp: echoes/s {ratio('skiff-afxdp', 'dpdk-afxdp', 'closed', 'pps')},"
          f" p99 at {rate} pps {ratio('skiff-afxdp', 'dpdk-afxdp', 'open', 'p99_us')}")
PY
