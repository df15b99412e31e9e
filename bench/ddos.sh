#!/usr/bin/env bash
# Usage (root): flock /tmp/skiff-bench.lock bash bench/ddos.sh [SECONDS=8] [ROUNDS=3]
# Issue 18: the flood rate samples/DdosFilter drops while legitimate HTTP still passes, against the same drop rules in the
# kernel (nftables), on the same veths, one run, systems interleaved per round:
#   skiff   DdosFilter in M on AF_XDP (busy-poll, CPU 1): the rules below as tcpdump expressions, then a per-source rate
#           limit (10,000 pps) and the SYN proxy on port 80; what passes is bridged to H by its io forwarder
#   skiff-fwd  `skiff fwd --mode io` with the same rules as --drop hooks (no rate limit, no SYN proxy, hooks on both
#           ports): the library's own bridge with BPF drop hooks, to tell the sample's cost from the engine's
#   kernel  a Linux bridge in M over the same two veths, the same rules in an nftables netdev ingress chain on M's veth
#           towards G (the earliest hook nftables has, before the bridge)
# Rules (in this order, both systems): udp src port 11211 | udp src port 53 and greater 600 | udp dst port 9.
# The flood: 64-byte UDP to port 9 from 198.18.0.1 (matches the third rule), from the XDP loop generator of
# bench/drivers.sh (GEN=loop: COPIES copies of each of IN_FLIGHT frames leave G's veth per pass; CPU 0), as fast as it goes.
# Legitimate traffic: curl from G to python3's http.server in H (through the SYN proxy for skiff), one request after
# another during the window. The figure: rule drops per second over the window (the third rule's counter: Skiff's hook
# verdicts from its control socket, nft's counter), median of the rounds; and how many of the window's requests got 200.
# On veth the receive side's kernel work runs on the sender's CPU: whole-machine figures; compare within one run.
# SYSTEMS picks systems. KEEP=1 keeps the logs. Needs: dotnet, iproute2, ethtool, nftables, curl, python3, taskset.
set -euo pipefail
S=${1:-8}; ROUNDS=${2:-3}; COPIES=${COPIES:-16}; IN_FLIGHT=${IN_FLIGHT:-4}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp -d /tmp/skiff-ddos.XXXXXX)
G=skd-g-$$; M=skd-m-$$; H=skd-h-$$; VG=skdg$$; VM0=skdm0$$; VM1=skdm1$$; VH=skdh$$
IPG=10.76.1.1; IPH=10.76.1.2
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in $G $M $H; do ip netns del $n 2>/dev/null || true; done
  if [ -n "${KEEP:-}" ]; then echo "logs kept in $OUT"; else rm -rf "$OUT"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
[ "$(id -u)" = 0 ] || { echo "ddos.sh: run as root (namespaces, XDP, AF_XDP, nftables)." >&2; exit 2; }
for t in dotnet ip ethtool nft curl taskset python3; do
  command -v $t >/dev/null || { echo "ddos.sh: $t is missing; apt-get install it (nft: nftables)." >&2; exit 2; }
done

echo "== build"
dotnet build -c Release "$ROOT/bench/Skiff.Benchmarks" --artifacts-path "${ARTIFACTS:-/tmp/art-ddos}" -o "$OUT/bin" -v q -nologo >"$OUT/build.log" 2>&1 \
  || { cat "$OUT/build.log"; echo "ddos.sh: the benchmark build failed (above)." >&2; exit 1; }
dotnet build -c Release "$ROOT/samples/DdosFilter" --artifacts-path "${ARTIFACTS:-/tmp/art-ddos}-filter" -o "$OUT/filter" -v q -nologo >"$OUT/build-filter.log" 2>&1 \
  || { cat "$OUT/build-filter.log"; echo "ddos.sh: the DdosFilter build failed (above)." >&2; exit 1; }
dotnet build -c Release "$ROOT/src/Skiff.Cli" --artifacts-path "${ARTIFACTS:-/tmp/art-ddos}-cli" -o "$OUT/cli" -v q -nologo >"$OUT/build-cli.log" 2>&1 \
  || { cat "$OUT/build-cli.log"; echo "ddos.sh: the skiff build failed (above)." >&2; exit 1; }
BENCH="$OUT/bin/Skiff.Benchmarks.dll"; FILTER="$OUT/filter/DdosFilter.dll"; SKIFF="$OUT/cli/skiff.dll"
printf 'udp src port 11211\nudp src port 53 and greater 600\nudp dst port 9\n' >"$OUT/rules"

echo "== namespaces: generator and client $G ($VG $IPG) — $M ($VM0, $VM1) — host $H ($VH $IPH, python3 http.server :80)"
for n in $G $M $H; do ip netns add $n; ip -n $n link set lo up; done
ip link add $VG netns $G type veth peer name $VM0 netns $M
ip link add $VM1 netns $M type veth peer name $VH netns $H
ip -n $G addr add $IPG/24 dev $VG; ip -n $H addr add $IPH/24 dev $VH
# GRO on every veth: the loop generator's XDP frames reach a veth without an XDP program only with it (as in bench/fwd.sh).
for l in "$G $VG" "$M $VM0" "$M $VM1" "$H $VH"; do set -- $l; ip -n $1 link set $2 up; ip netns exec $1 ethtool -K $2 gro on >/dev/null; done
# Finished checksums from the kernels at the ends: a bump in the wire passes frames on as they are.
ip netns exec $G ethtool -K $VG tx off >/dev/null; ip netns exec $H ethtool -K $VH tx off >/dev/null
ip -n $G link add ${VG}l type veth peer name ${VG}m
ip netns exec $G sysctl -qw net.ipv6.conf.${VG}l.disable_ipv6=1 net.ipv6.conf.${VG}m.disable_ipv6=1
ip -n $G link set ${VG}l up; ip -n $G link set ${VG}m up
MACH=$(ip netns exec $H cat /sys/class/net/$VH/address)
ip netns exec $H taskset -c 1 python3 -m http.server 80 --bind $IPH >"$OUT/http.log" 2>&1 &
PIDS+=($!)

gen_start() {
  ip netns exec $G taskset -c 0 dotnet "$BENCH" gen --iface $VG --dst-mac $MACH --dst-ip $IPH --src-ip 198.18.0.1 \
    --generator loop --loop-iface ${VG}l --loop-peer-iface ${VG}m --copies $COPIES --in-flight $IN_FLIGHT --seconds $((S + 20)) --cpu 0 >"$OUT/gen.$1.log" 2>&1 &
  GEN_PID=$!; PIDS+=($GEN_PID); sleep 2
  kill -0 $GEN_PID 2>/dev/null || { cat "$OUT/gen.$1.log"; echo "ddos.sh: the generator did not start (above)." >&2; exit 1; }
}
gen_stop() { kill -TERM $GEN_PID 2>/dev/null || true; wait $GEN_PID 2>/dev/null || true; }

# until_curl: waits (30 s at most) until G's curl reaches H through M.
until_curl() {
  for i in $(seq 1 150); do
    [ "$(ip netns exec $G curl -s -m 1 -o /dev/null -w '%{http_code}' http://$IPH/ || true)" = 200 ] && return 0
    sleep 0.2
  done
  return 1
}

# counter NAME: "SECONDS DROPS" now, for the third rule. skiff: its control socket's snapshot (hook verdicts); kernel: nft.
counter() {
  if [ $1 != kernel ]; then
    python3 - "$OUT/ctl.sock" <<'PY'
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'snapshot\n')
q = json.loads(s.makefile().readline())['queues'][0]
print(time.monotonic(), sum(h['drop'] for h in q['hooks'] if h['name'] in ('drop udp dst port 9', 'drop: udp dst port 9')))
PY
  else
    echo "$(python3 -c 'import time; print(time.monotonic())') $(ip netns exec $M nft list chain netdev ddos in | grep 'dport 9' | grep -o 'packets [0-9]*' | awk '{print $2}')"
  fi
}

run_one() {
  local name=$1 r=$2 log="$OUT/$1.$2.log" a b pid=""
  if [ $name = skiff ]; then
    rm -f "$OUT/ctl.sock"
    ip netns exec $M taskset -c 1 dotnet "$FILTER" --driver afxdp --wire $VM0 --host $VM1 --rules "$OUT/rules" --rate 10000 --syn-proxy 80 \
      --busy-poll --stats-socket "$OUT/ctl.sock" --seconds $((S + 40)) >"$log" 2>&1 &
    pid=$!; PIDS+=($pid)
  elif [ $name = skiff-fwd ]; then
    rm -f "$OUT/ctl.sock"
    ip netns exec $M taskset -c 1 dotnet "$SKIFF" fwd --driver afxdp --iface $VM0 --iface $VM1 --mode io --drop 'udp src port 11211' \
      --drop 'udp src port 53 and greater 600' --drop 'udp dst port 9' --busy-poll --stats-socket "$OUT/ctl.sock" --seconds $((S + 40)) >"$log" 2>&1 &
    pid=$!; PIDS+=($pid)
  else
    ip -n $M link add br0 type bridge; ip -n $M link set $VM0 master br0; ip -n $M link set $VM1 master br0; ip -n $M link set br0 up
    ip netns exec $M nft -f - <<EOF
table netdev ddos {
  chain in {
    type filter hook ingress device $VM0 priority -500; policy accept;
    udp sport 11211 counter drop
    udp sport 53 meta length > 600 counter drop
    udp dport 9 counter drop
  }
}
EOF
  fi
  until_curl || { echo "   $name round $r: curl never reached the host; log:"; tail -15 "$log" 2>/dev/null | sed 's/^/     /'; return 0; }
  gen_start "$name.$r"
  a=$(counter $name)
  local ok=0 total=0 code end=$((SECONDS + S))
  while [ $SECONDS -lt $end ]; do
    code=$(ip netns exec $G curl -s -m 3 -o /dev/null -w '%{http_code}' http://$IPH/ || true)
    total=$((total + 1)); [ "$code" = 200 ] && ok=$((ok + 1))
  done
  b=$(counter $name)
  gen_stop
  if [ $name != kernel ]; then
    kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  else
    ip netns exec $M nft delete table netdev ddos; ip -n $M link del br0
  fi
  local pps; pps=$(python3 -c "import sys; a, b = '$a'.split(), '$b'.split(); print(int((int(b[1]) - int(a[1])) / (float(b[0]) - float(a[0]))))")
  printf "   round %d %-9s %9d drops/s; curl %d of %d requests answered 200 (load %s)\n" $r $name $pps $ok $total "$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "$name $r $pps $ok $total" >>"$OUT/results"
}

SYSTEMS=${SYSTEMS:-"kernel skiff skiff-fwd"}
echo "== $ROUNDS rounds of $S s: $SYSTEMS (generator CPU 0, Skiff CPU 1); load $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 $ROUNDS); do for s in $SYSTEMS; do run_one $s $r; done; done
echo "== medians"
python3 - "$OUT/results" <<'PY'
import sys, statistics
rows, ok = {}, {}
for line in open(sys.argv[1]):
    n, r, p, good, total = line.split(); rows.setdefault(n, []).append(int(p)); ok.setdefault(n, [0, 0])
    ok[n][0] += int(good); ok[n][1] += int(total)
med = {n: statistics.median(v) for n, v in rows.items()}
for n, v in rows.items():
    print(f"   {n:9s} median {med[n]/1e6:6.3f} M drops/s   rounds: {' '.join(f'{x/1e6:.3f}' for x in v)}   curl {ok[n][0]} of {ok[n][1]} answered")
if med.get('kernel') and 'skiff' in med:
    print(f"   skiff / kernel = {med['skiff']/med['kernel']:.2f}x")
if med.get('skiff-fwd') and 'skiff' in med:
    print(f"   skiff / skiff-fwd (the sample / the library's bridge with the same drop hooks) = {med['skiff']/med['skiff-fwd']:.2f}x")
PY
