#!/usr/bin/env bash
# Skiff's egress qdiscs against the kernel's own, on one veth pair (issue 14; docs/qdisc.md, docs/benchmarks.md).
# Usage (root): bash bench/qdisc.sh [ROUNDS=3] [SECONDS=8]
#
# Server namespace S holds either `skiff serve` (DRIVER, default afxdp) or kernel servers on the same veth end; the
# client namespace C holds the kernel's curl/python/ping. What S sends to C is shaped, by Skiff's egress qdisc or by
# the kernel's qdisc on S's veth (tc), at the same settings:
#
# 1. Shaping accuracy at RATE_G (default 50mbit): a download from S for SECONDS; the wire rate is what C's veth received
#    (rx_bytes: whole frames, the bytes a shaper counts) from the 2nd second to the last, the goodput what the client
#    read in the same window. Rows: skiff-shape (--shape: tbf with a 1 ms bucket over fq_codel), skiff-tbf and kernel-tbf
#    (tbf rate RATE_G burst 15kb latency 50ms), skiff-htb and kernel-htb (one htb class rate RATE_G, pfifo leaf).
#    Target: the wire rate within 2 % of RATE_G.
# 2. Latency under load at RATE_L (default 20mbit): ping from C every 20 ms, idle, then during a UDP echo flood at twice
#    the rate (python in C; the echoes are what overloads S's shaper), then during a bulk TCP download from S; p50 and
#    p99 of the RTTs after the first 2 s of load. Rows: skiff-fq_codel (--shape RATE_L: fq_codel under the shaper),
#    skiff-pfifo (--shape RATE_L --qdisc 'pfifo limit 1000'), kernel-htb-pfifo (htb class rate RATE_L with a pfifo
#    leaf of 1000), kernel-tbf (tbf rate RATE_L burst 15kb latency 50ms). This kernel has no fq_codel, fq, sfq or cake.
#    Target for fq_codel: p99 under load at most the idle p99 + 2 x 5 ms (its target).
#
# BASE=REV measures the skiff CLI of git revision REV (bench/build-base.sh) instead of the working tree's.
# Each figure is the median over ROUNDS rounds; every server starts fresh each round. Offloads: tx checksum, TSO and GSO
# off on both veth ends (AF_XDP on veth cannot see unfinished checksums; a kernel shaper then sees single frames, as
# Skiff's does). Needs dotnet, iproute2 (ip, tc), ethtool, curl, ping, python3. Creates and removes two namespaces.
set -euo pipefail
ROUNDS=${1:-3}; SECS=${2:-8}
DRIVER=${DRIVER:-afxdp}; RATE_G=${RATE_G:-50mbit}; RATE_L=${RATE_L:-20mbit}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run as root: bench/qdisc.sh creates network namespaces and a veth pair." >&2; exit 2; }
for t in dotnet ip tc ethtool curl ping python3; do
  command -v $t >/dev/null || { echo "qdisc.sh: $t is missing; install it (apt-get install iproute2 ethtool curl iputils-ping python3; dotnet: the .NET 10 SDK)." >&2; exit 2; }
done
case "$ROUNDS$SECS" in *[!0-9]*) echo "qdisc.sh: ROUNDS and SECONDS must be whole numbers." >&2; exit 2 ;; esac
[ "$SECS" -ge 5 ] || { echo "qdisc.sh: SECONDS must be at least 5 (the first 2 s are not measured)." >&2; exit 2; }
OUT=$(mktemp -d /tmp/skiff-qdisc.XXXXXX)
S=skq-s-$$; C=skq-c-$$; LS=skqs$$; LC=skqc$$
SKIFF_IP=10.81.0.1; KERNEL_IP=10.81.0.3; CLIENT_IP=10.81.0.2
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns del $S 2>/dev/null || true; ip netns del $C 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$OUT"
}
trap cleanup EXIT
if [ -n "${BASE:-}" ]; then
  bash "$ROOT/bench/build-base.sh" "$BASE" "$OUT/bin" >&2
else
  echo "qdisc.sh: building skiff into $OUT/bin" >&2
  dotnet build -c Release "$ROOT/src/Skiff.Cli" -o "$OUT/bin" -v q -nologo >"$OUT/build.log" 2>&1 \
    || { cat "$OUT/build.log"; echo "qdisc.sh: the Skiff build failed (above)." >&2; exit 1; }
fi
SKIFF="$OUT/bin/skiff.dll"

ip netns add $S; ip netns add $C
ip link add $LS netns $S type veth peer name $LC netns $C
ip -n $S link set lo up; ip -n $C link set lo up; ip -n $S link set $LS up; ip -n $C link set $LC up
ip -n $C addr add $CLIENT_IP/24 dev $LC
ip netns exec $S ethtool -K $LS tx off tso off gso off >/dev/null
ip netns exec $C ethtool -K $LC tx off tso off gso off >/dev/null
printf 'htb default 10\nclass 10 rate %s\n' "$RATE_G" >"$OUT/htb.conf"

# The kernel's servers in S: HTTP GET /bytes/N (any path: N bytes of zeros) on port 80 and UDP echo on port 7.
cat >"$OUT/kserve.py" <<'PY'
import socket, sys, threading
addr = sys.argv[1]
def http():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((addr, 80)); s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
def serve(c):
    try:
        req = c.recv(4096).decode(errors="replace").split(" ")
        n = int(req[1].rsplit("/", 1)[-1]) if len(req) > 1 and req[1].rsplit("/", 1)[-1].isdigit() else 1 << 40
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
        chunk = bytes(1 << 16)
        while n > 0:
            k = c.send(chunk[:min(n, len(chunk))]); n -= k
    except OSError:
        pass
    c.close()
def echo():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((addr, 7))
    while True:
        d, a = u.recvfrom(65536)
        try:
            u.sendto(d, a)
        except OSError:
            pass
threading.Thread(target=echo, daemon=True).start()
http()
PY
# The client in C: downloads http://$1/bytes/huge for $2 s; prints "wire_bps goodput_bps" over second 2 to the end.
cat >"$OUT/download.py" <<'PY'
import socket, sys, time
addr, secs, link = sys.argv[1], float(sys.argv[2]), sys.argv[3]
def rx(): return int(open(f"/sys/class/net/{link}/statistics/rx_bytes").read())
s = socket.create_connection((addr, 80), timeout=10)
s.sendall(b"GET /bytes/1099511627776 HTTP/1.1\r\nHost: x\r\n\r\n")
t0 = time.monotonic(); mark = None; got = 0; buf = bytearray(1 << 20)
while True:
    n = s.recv_into(buf)
    if n == 0: break
    now = time.monotonic() - t0
    if mark is None and now >= 2.0: mark = (now, rx(), 0); got = 0
    got += n
    if now >= secs: break
end = (time.monotonic() - t0, rx())
s.close()
el = end[0] - mark[0]
print(f"{(end[1] - mark[1]) * 8 / el:.0f} {got * 8 / el:.0f}")
PY
# The flood in C: UDP datagrams of 1400 bytes to $1:7 at $2 bit/s (with 42 bytes of headers) for $3 s.
cat >"$OUT/flood.py" <<'PY'
import socket, sys, time
dst, rate, seconds, size = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), 1400
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((dst, 7)); payload = b"x" * size; pps = rate / ((size + 42) * 8); t0 = time.monotonic(); sent = 0
while True:
    el = time.monotonic() - t0
    if el >= seconds: break
    while sent < int(el * pps):
        try: s.send(payload)
        except OSError: pass
        sent += 1
    time.sleep(0.001)
PY

bits() { python3 -c "import sys; s=sys.argv[1].lower(); u={'kbit':1e3,'mbit':1e6,'gbit':1e9}; print(int(float(s[:-4])*u[s[-4:]]))" "$1"; }
start_skiff() { # serve options...; waits until it answers ping
  ip netns exec $S dotnet "$SKIFF" serve --driver $DRIVER --iface $LS --ip $SKIFF_IP/24 "$@" >"$OUT/serve.log" 2>&1 &
  SERVER=$!; PIDS+=($SERVER)
  for _ in $(seq 1 60); do ip netns exec $C ping -c 1 -W 1 $SKIFF_IP >/dev/null 2>&1 && return 0; sleep 0.5; done
  cat "$OUT/serve.log"; echo "qdisc.sh: skiff serve $* did not answer ping within 30 s." >&2; exit 1
}
start_kernel() { # tc qdisc setup command lines...
  ip -n $S addr add $KERNEL_IP/24 dev $LS
  for cmd in "$@"; do ip netns exec $S sh -c "$cmd"; done
  ip netns exec $S python3 "$OUT/kserve.py" $KERNEL_IP >"$OUT/kserve.log" 2>&1 &
  SERVER=$!; PIDS+=($SERVER)
  # Ready when the HTTP server answers (the kernel answers ping before python has bound its sockets).
  for _ in $(seq 1 20); do ip netns exec $C curl -s -m 1 -o /dev/null http://$KERNEL_IP/bytes/1 && return 0; sleep 0.5; done
  echo "qdisc.sh: the kernel's servers did not come up." >&2; exit 1
}
stop_server() {
  kill -TERM $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true # SIGINT is ignored by background jobs of a script
  ip netns exec $S tc qdisc del dev $LS root 2>/dev/null || true
  ip -n $S addr flush dev $LS 2>/dev/null || true
}
# ping every 20 ms for $2 s to $1 (skipping the first 2 s when $3 is "load"); prints "p50 p99" in ms.
ping_pct() {
  local n=$(( ($2 * 1000) / 20 ))
  ip netns exec $C ping -n -i 0.02 -c $n -W 3 "$1" 2>/dev/null | python3 -c '
import re, sys
t = [float(m.group(2)) for m in (re.search(r"icmp_seq=(\d+).*time=([0-9.]+)", l) for l in sys.stdin) if m and (sys.argv[1] != "load" or int(m.group(1)) > 100)]
t.sort()
print(f"{t[len(t)//2]:.2f} {t[min(len(t)-1, int(len(t)*0.99))]:.2f} {len(t)}" if t else "nan nan 0")' "${3:-idle}"
}
goodput_row() { # name
  local r; r=$(ip netns exec $C python3 "$OUT/download.py" "$ADDR" $SECS $LC 2>>"$OUT/errors.log" || echo "0 0")
  echo "round $round $1: wire $(awk -v b="${r% *}" 'BEGIN{printf "%.2f", b/1e6}') Mbit/s, goodput $(awk -v b="${r#* }" 'BEGIN{printf "%.2f", b/1e6}') Mbit/s"
  G_WIRE[$1]+="${r% *} "; G_GOOD[$1]+="${r#* } "
}
latency_row() { # name
  local idle flood bulk
  idle=$(ping_pct "$ADDR" 4)
  ip netns exec $C python3 "$OUT/flood.py" "$ADDR" $((2 * $(bits $RATE_L))) $SECS & local fl=$!
  flood=$(ping_pct "$ADDR" $SECS load); wait $fl || true
  sleep 1
  ip netns exec $C python3 "$OUT/download.py" "$ADDR" $SECS $LC >/dev/null 2>&1 & local dl=$!
  bulk=$(ping_pct "$ADDR" $SECS load); wait $dl || true
  echo "round $round $1: ping p50/p99 ms idle ${idle% *}, udp flood ${flood% *}, tcp bulk ${bulk% *}"
  L_IDLE[$1]+="${idle% *};"; L_FLOOD[$1]+="${flood% *};"; L_BULK[$1]+="${bulk% *};"
}
declare -A G_WIRE G_GOOD L_IDLE L_FLOOD L_BULK
RG=$RATE_G; RL=$RATE_L
for round in $(seq 1 $ROUNDS); do
  ADDR=$SKIFF_IP
  start_skiff --http 80 --shape $RG; goodput_row skiff-shape; stop_server
  start_skiff --http 80 --qdisc "tbf rate $RG burst 15kb latency 50ms"; goodput_row skiff-tbf; stop_server
  start_skiff --http 80 --qdisc-file "$OUT/htb.conf"; goodput_row skiff-htb; stop_server
  ADDR=$KERNEL_IP
  start_kernel "tc qdisc add dev $LS root tbf rate $RG burst 15kb latency 50ms"; goodput_row kernel-tbf; stop_server
  start_kernel "tc qdisc add dev $LS root handle 1: htb default 10" "tc class add dev $LS parent 1: classid 1:10 htb rate $RG" \
    "tc qdisc add dev $LS parent 1:10 pfifo limit 1000"; goodput_row kernel-htb; stop_server
  ADDR=$SKIFF_IP
  start_skiff --http 80 --udp-echo 7 --shape $RL; latency_row skiff-fq_codel; stop_server
  start_skiff --http 80 --udp-echo 7 --shape $RL --qdisc 'pfifo limit 1000'; latency_row skiff-pfifo; stop_server
  ADDR=$KERNEL_IP
  start_kernel "tc qdisc add dev $LS root handle 1: htb default 10" "tc class add dev $LS parent 1: classid 1:10 htb rate $RL" \
    "tc qdisc add dev $LS parent 1:10 pfifo limit 1000"; latency_row kernel-htb-pfifo; stop_server
  start_kernel "tc qdisc add dev $LS root tbf rate $RL burst 15kb latency 50ms"; latency_row kernel-tbf; stop_server
done
median() { tr ' ;' '\n\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "== medians over $ROUNDS rounds, driver $DRIVER, skiff ${BASE:-of the working tree} (load: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "shaping at $RATE_G (wire = frames the client's veth received; target within 2 %):"
for k in skiff-shape skiff-tbf skiff-htb kernel-tbf kernel-htb; do
  w=$(echo ${G_WIRE[$k]} | median); g=$(echo ${G_GOOD[$k]} | median)
  printf '  %-12s wire %7.2f Mbit/s (%+.1f %% of the rate)  goodput %7.2f Mbit/s   rounds (wire): %s\n' $k \
    "$(awk -v b=$w 'BEGIN{print b/1e6}')" "$(awk -v b=$w -v r=$(bits $RATE_G) 'BEGIN{print (b/r-1)*100}')" "$(awk -v b=$g 'BEGIN{print b/1e6}')" \
    "$(for x in ${G_WIRE[$k]}; do awk -v b=$x 'BEGIN{printf "%.2f ", b/1e6}'; done)"
done
echo "ping RTT at $RATE_L, p50 / p99 ms (median of rounds):"
col() { # "p50 p99;p50 p99;..." -> "median_p50 / median_p99"
  local p50 p99; p50=$(echo "$1" | tr ';' '\n' | awk 'NF{print $1}' | median); p99=$(echo "$1" | tr ';' '\n' | awk 'NF{print $2}' | median); echo "$p50 / $p99"
}
for k in skiff-fq_codel skiff-pfifo kernel-htb-pfifo kernel-tbf; do
  printf '  %-16s idle %-16s udp flood %-18s tcp bulk %s\n' $k "$(col "${L_IDLE[$k]}")" "$(col "${L_FLOOD[$k]}")" "$(col "${L_BULK[$k]}")"
done
