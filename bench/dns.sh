#!/usr/bin/env bash
# Usage (root): flock /tmp/skiff-bench.lock bash bench/dns.sh [SECONDS=10] [ROUNDS=3]
# Authoritative DNS, queries per second, in one run over one veth pair between two namespaces:
#   skiff-afxdp   samples/DnsServer on AF_XDP (copy mode on veth, native XDP), one engine loop
#   nsd           NSD (Debian package nsd) on kernel sockets, server-count 1
#   knot          Knot DNS (Debian package knot) on kernel sockets, udp-workers 1
# All three serve the same zone (bench/dns/ makes it: 2000 hosts with A and AAAA, MX, TXT, CNAMEs) and answer the same
# query list (A, AAAA, MX, TXT, CNAME chases, NODATA and NXDOMAIN), driven by dnsperf (Debian package dnsperf) from the
# client namespace. Every server is pinned to CPU 1 and dnsperf to CPU 0, both at nice PRIO (default -10), all alike.
# Systems are interleaved per round; every server starts fresh and gets WARMUP seconds of load first (.NET's tiered JIT
# needs a few seconds; the C servers are unaffected). The medians and Skiff's ratio to the faster of NSD and Knot of
# the same run are printed at the end. Transmit checksum offload is off on the client's veth for every row (AF_XDP on
# veth cannot see unfinished checksums, docs/drivers.md), so every server receives the same finished frames.
# Environment: CLIENTS=8 (dnsperf -c) OUTSTANDING=200 (dnsperf -q) THREADS=1 (dnsperf -T) WARMUP=3 PRIO=-10
#   SYSTEMS="skiff-afxdp nsd knot" (add skiff-afpacket or skiff-afxdp-busy) KEEP=1 (keep the logs)
# Installs nsd, knot and dnsperf with apt-get when missing. Creates and removes two namespaces and a veth pair; it sends
# only to the addresses inside them.
set -euo pipefail
S=${1:-10}; ROUNDS=${2:-3}
CLIENTS=${CLIENTS:-8}; OUTSTANDING=${OUTSTANDING:-200}; THREADS=${THREADS:-1}; WARMUP=${WARMUP:-3}; PRIO=${PRIO:-"-10"}
SYSTEMS=${SYSTEMS:-"skiff-afxdp nsd knot"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)

[ "$(id -u)" = 0 ] || { echo "run as root: bench/dns.sh creates network namespaces, a veth pair and attaches XDP." >&2; exit 2; }
case "$S$ROUNDS$CLIENTS$OUTSTANDING$THREADS$WARMUP${PRIO#-}" in *[!0-9]*) echo "dns.sh: SECONDS, ROUNDS, CLIENTS, OUTSTANDING, THREADS and WARMUP must be whole numbers (PRIO may be negative)." >&2; exit 2 ;; esac
missing=()
for p in nsd knot dnsperf; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for t in dotnet ip ethtool taskset python3 nsd knotd dnsperf; do
  command -v $t >/dev/null || { echo "dns.sh: $t is missing; install it (apt-get install nsd knot dnsperf iproute2 ethtool util-linux python3; dotnet: the .NET 10 SDK)." >&2; exit 2; }
done

OUT=$(mktemp -d /tmp/skiff-dns.XXXXXX)
NS=skd-s-$$; NC=skd-c-$$; VS=skds$$; VC=skdc$$
IPC=10.81.0.1; IPS=10.81.0.2
SERVER=""; SERVER_JOB=""
cleanup() {
  if [ -n "$SERVER" ]; then kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER_JOB" 2>/dev/null || true; fi
  ip netns del $NS 2>/dev/null || true; ip netns del $NC 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "logs kept in $OUT"; else rm -rf "$OUT"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== build (Release)"
dotnet build -c Release "$ROOT/samples/DnsServer" --artifacts-path "${ARTIFACTS:-/tmp/skiff-dns-art}" -o "$OUT/bin" -v q -nologo >"$OUT/build.log" 2>&1 \
  || { cat "$OUT/build.log"; echo "dns.sh: the build failed (above)." >&2; exit 1; }
DNS="$OUT/bin/DnsServer.dll"

echo "== zone and queries"
python3 "$ROOT/bench/dns/make-zone.py" "$OUT/example.com.zone" "$OUT/queries.txt"
mkdir -p "$OUT/nsd" "$OUT/knot"
cat >"$OUT/nsd/nsd.conf" <<CONF
server:
  ip-address: $IPS
  port: 53
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$OUT"
  database: ""
  zonelistfile: "$OUT/nsd/zone.list"
  pidfile: "$OUT/nsd/nsd.pid"
  xfrdfile: "$OUT/nsd/xfrd.state"
  xfrdir: "$OUT/nsd"
  logfile: "$OUT/nsd/nsd.log"
  hide-version: yes
  minimal-responses: yes
  refuse-any: no
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: example.com
  zonefile: "$OUT/example.com.zone"
CONF
cat >"$OUT/knot/knot.conf" <<CONF
server:
  rundir: "$OUT/knot"
  listen: $IPS@53
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
log:
  - target: stderr
    any: warning
database:
  storage: "$OUT/knot"
template:
  - id: default
    storage: "$OUT"
    semantic-checks: off
zone:
  - domain: example.com
    file: "$OUT/example.com.zone"
    journal-content: none
    zonefile-sync: -1
CONF

echo "== namespaces $NS (server $VS $IPS) and $NC (client $VC $IPC)"
ip netns add $NS; ip netns add $NC
ip link add $VS netns $NS type veth peer name $VC netns $NC
ip -n $NC addr add $IPC/24 dev $VC
ip -n $NS link set lo up; ip -n $NC link set lo up; ip -n $NS link set $VS up; ip -n $NC link set $VC up
ip netns exec $NC ethtool -K $VC tx off tso off gso off >/dev/null

# in_ns NS CPU PIDFILE CMD...: CMD in namespace NS, pinned to CPU, in a session of its own with nice PRIO (autogroup too,
# so other sessions' builds do not take its CPU); CMD's pid goes to PIDFILE.
in_ns() {
  local ns=$1 cpu=$2 pidfile=$3; shift 3
  ip netns exec $ns setsid -w sh -c 'p=$0 c=$1 f=$2; shift 2; echo $$ >"$f"; echo "$p" >/proc/self/autogroup 2>/dev/null || true
    exec nice -n "$p" taskset -c "$c" "$@"' "$PRIO" "$cpu" "$pidfile" "$@"
}

# probe: one query answered by whoever serves $IPS now.
probe() { ip netns exec $NC dnsperf -s $IPS -d "$OUT/queries.txt" -n 1 -c 1 -t 1 2>/dev/null | grep -q "Queries completed: *[1-9]"; }

server_start() {
  local name=$1 log="$OUT/server.$1.$2.log"
  rm -f "$OUT/server.pid"
  # Kernel servers own the address on the veth; Skiff owns it alone (no kernel address, or the kernel would answer too).
  case $name in
    skiff-*) ip -n $NS addr flush dev $VS ;;
    *) ip -n $NS addr replace $IPS/24 dev $VS ;;
  esac
  case $name in
    skiff-afxdp)      in_ns $NS 1 "$OUT/server.pid" dotnet "$DNS" --driver afxdp --iface $VS --ip $IPS/24 --zone "$OUT/example.com.zone" --stats-socket none >"$log" 2>&1 & ;;
    skiff-afxdp-busy) in_ns $NS 1 "$OUT/server.pid" dotnet "$DNS" --driver afxdp --iface $VS --ip $IPS/24 --zone "$OUT/example.com.zone" --stats-socket none --busy-poll >"$log" 2>&1 & ;;
    skiff-afpacket)   in_ns $NS 1 "$OUT/server.pid" dotnet "$DNS" --driver afpacket --iface $VS --ip $IPS/24 --zone "$OUT/example.com.zone" --stats-socket none >"$log" 2>&1 & ;;
    nsd)  in_ns $NS 1 "$OUT/server.pid" nsd -d -c "$OUT/nsd/nsd.conf" >"$log" 2>&1 & ;;
    knot) in_ns $NS 1 "$OUT/server.pid" knotd -c "$OUT/knot/knot.conf" >"$log" 2>&1 & ;;
    *) echo "dns.sh: unknown system '$name' (skiff-afxdp, skiff-afxdp-busy, skiff-afpacket, nsd, knot)." >&2; exit 2 ;;
  esac
  SERVER_JOB=$!
  for _ in $(seq 1 50); do [ -s "$OUT/server.pid" ] && break; sleep 0.1; done
  SERVER=$(cat "$OUT/server.pid" 2>/dev/null || true)
  [ -n "$SERVER" ] || { echo "dns.sh: $name did not start (no process id)." >&2; exit 1; }
  for _ in $(seq 1 60); do
    probe && return 0
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.5
  done
  echo "dns.sh: $name did not answer; its log:" >&2; cat "$log" >&2; exit 1
}
server_stop() { kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER_JOB" 2>/dev/null || true; SERVER=""; sleep 0.5; }

# server_ticks: user+system clock ticks of every process in the server's namespace (NSD forks its serving processes).
server_ticks() {
  local t=0 p
  for p in $(ip netns pids $NS 2>/dev/null); do
    # utime and stime are fields 14 and 15, counted after the command name, which may hold spaces (NSD renames its processes).
    t=$((t + $(sed -E 's/^.*\) //' /proc/$p/stat 2>/dev/null | awk '{print $12 + $13}' || echo 0)))
  done
  echo $t
}
# cpu_busy: busy and total jiffies of cpu0 and cpu1.
cpu_busy() { awk '/^cpu[01] / {printf "%d %d ", $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }

# measure NAME ROUND: warm-up, then the measured dnsperf run; records "NAME ROUND QPS LOST AVG_LATENCY SERVER_CPU".
measure() {
  local name=$1 r=$2 log="$OUT/dnsperf.$1.$2.log"
  [ "$WARMUP" = 0 ] || in_ns $NC 0 "$OUT/client.pid" dnsperf -s $IPS -d "$OUT/queries.txt" -l "$WARMUP" -c "$CLIENTS" -q "$OUTSTANDING" -T "$THREADS" >/dev/null 2>&1 || true
  local t0 c0 t1 c1
  t0=$(server_ticks); c0=$(cpu_busy)
  in_ns $NC 0 "$OUT/client.pid" dnsperf -s $IPS -d "$OUT/queries.txt" -l "$S" -c "$CLIENTS" -q "$OUTSTANDING" -T "$THREADS" >"$log" 2>&1 \
    || { echo "dns.sh: dnsperf failed against $name:" >&2; cat "$log" >&2; exit 1; }
  t1=$(server_ticks); c1=$(cpu_busy)
  local qps lost lat cpu busy
  qps=$(awk '/Queries per second:/ {print $4}' "$log"); lost=$(awk '/Queries lost:/ {print $3}' "$log"); lat=$(awk '/Average Latency/ {print $4}' "$log")
  [ -n "$qps" ] || { echo "dns.sh: no result from dnsperf against $name:" >&2; cat "$log" >&2; exit 1; }
  # The server's own CPU (process time, in share of one CPU) over the measured seconds, and how busy each CPU was.
  cpu=$(python3 -c "print(($t1 - $t0) / $(getconf CLK_TCK) / $S)")
  busy=$(python3 -c "a='$c0'.split(); b='$c1'.split(); print(' '.join(f'cpu{i} {100*(int(b[2*i])-int(a[2*i]))/max(1,int(b[2*i+1])-int(a[2*i+1])):.0f} %' for i in range(2)))")
  echo "$name $r $qps $lost $lat $cpu" >>"$OUT/results"
  printf "   round %s %-16s %10.0f queries/s  lost %s  average latency %s s  server process %.0f %% of a CPU (%.0f k queries per CPU-second); busy: %s\n" \
    "$r" "$name" "$qps" "$lost" "$lat" "$(python3 -c "print(100*$cpu)")" "$(python3 -c "print($qps/max($cpu,1e-9)/1e3)")" "$busy"
}

echo "== $ROUNDS rounds: $SYSTEMS; dnsperf -c $CLIENTS -q $OUTSTANDING -T $THREADS, warm-up $WARMUP s + $S s measured;"
echo "   servers on CPU 1, dnsperf on CPU 0, nice $PRIO; $(wc -l <"$OUT/queries.txt") queries in the list; load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  for s in $SYSTEMS; do
    server_start "$s" "$r"
    measure "$s" "$r"
    server_stop
    case $s in skiff-*) grep -E '^DnsServer: (stopped|gc)' "$OUT/server.$s.$r.log" | sed 's/^/        /' || true ;; esac
  done
done

echo "== medians over $ROUNDS rounds (load now $(cut -d' ' -f1-3 /proc/loadavg))"
python3 - "$OUT/results" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    name, r, qps, lost, lat, cpu = line.split()
    rows.setdefault(name, []).append((float(qps), float(lat), float(cpu)))
med = {n: statistics.median(q for q, _, _ in v) for n, v in rows.items()}
eff = {n: statistics.median(q / max(c, 1e-9) for q, _, c in v) for n, v in rows.items()}
for n, v in rows.items():
    print(f"   {n:16s} {med[n]:10.0f} queries/s (rounds: {', '.join(f'{q:.0f}' for q, _, _ in v)}), median latency {statistics.median(l for _, l, _ in v)*1e3:.2f} ms, "
          f"server {100*statistics.median(c for _, _, c in v):.0f} % of a CPU, {eff[n]/1e3:.0f} k queries per server CPU-second")
kernel = [n for n in ("nsd", "knot") if n in med]
if kernel:
    best = max(kernel, key=lambda n: med[n])
    best_eff = max(kernel, key=lambda n: eff[n])
    for n in med:
        if n.startswith("skiff"):
            print(f"   {n} / {best} (the faster kernel server): {med[n] / med[best]:.2f}x queries/s; "
                  f"per server CPU-second {eff[n] / eff[best_eff]:.2f}x of {best_eff} (the more frugal)")
PY
