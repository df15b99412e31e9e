#!/usr/bin/env bash
# Usage (root): flock /tmp/skiff-bench.lock bash bench/fwdloop.sh [SECONDS=5] [ROUNDS=3]
# In-memory io forwarding on one core, Skiff against DPDK 22.11's testpmd, same run (issue 17), interleaved per round:
#   dpdk   dpdk-testpmd -l 0,1 (forwarding lcore 1) --vdev net_ring0 --vdev net_ring1 --forward-mode=io, started with
#          tx_first (one 32-frame burst per port, 64 frames circulating; a net_ring port's TX ring is its own RX ring, so
#          port 0 RX -> port 1 TX -> port 1 RX -> port 0 TX -> ...). Figure: the sum of both ports' Rx-pps from
#          `show port stats all` over SECONDS (testpmd's own TSC-timed rate).
#   skiff  `Skiff.Benchmarks fwdloop` (bench/Skiff.Benchmarks/Forwarding/FwdLoopBench.cs): the Forwarder in io mode on one
#          engine loop pinned to CPU 1, four ports from two InMemoryLink pairs, 64 frames circulating (FRAMES), every
#          receive a forward. Figure: the median of the per-second sums of the ports' receive counters.
# Prints each round, the medians and skiff/dpdk. Needs: dotnet, dpdk-testpmd (apt-get install dpdk-dev).
set -euo pipefail
S=${1:-5}; ROUNDS=${2:-3}; FRAMES=${FRAMES:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp -d /tmp/skiff-fwdloop.XXXXXX)
trap '[ -n "${KEEP:-}" ] && echo "logs kept in $OUT" || rm -rf "$OUT"' EXIT
for t in dotnet dpdk-testpmd taskset; do
  command -v $t >/dev/null || { echo "fwdloop.sh: $t is missing (dpdk-testpmd: apt-get install dpdk-dev)." >&2; exit 2; }
done
echo "== build"
dotnet build -c Release "$ROOT/bench/Skiff.Benchmarks" --artifacts-path "${ARTIFACTS:-/tmp/art-fwdloop}" -o "$OUT/bin" -v q -nologo >"$OUT/build.log" 2>&1 \
  || { cat "$OUT/build.log"; echo "fwdloop.sh: the benchmark build failed (above)." >&2; exit 1; }
HUGE=(); [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 100 ] && mountpoint -q /dev/hugepages || HUGE=(--no-huge -m 512)

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
D=""; K=""
for r in $(seq 1 "$ROUNDS"); do
  log="$OUT/dpdk.$r.log"
  { sleep 3; echo "start tx_first"; sleep 1; echo "show port stats all"; sleep "$S"; echo "show port stats all"; echo stop; sleep 1; echo quit; } \
    | timeout $((S + 30)) dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci "${HUGE[@]}" --file-prefix skfloop$$ --vdev net_ring0 --vdev net_ring1 -- \
        -i --forward-mode=io --nb-cores=1 --total-num-mbufs=8192 >"$log" 2>&1 || true
  d=$(grep 'Rx-pps:' "$log" | tail -2 | awk '{s += $2} END {printf "%.3f", s / 1e6}')
  [ "$(grep -c 'Rx-pps:' "$log")" -ge 4 ] || { tail -30 "$log"; echo "fwdloop.sh: testpmd printed no rate (above)." >&2; exit 1; }
  sk=$(taskset -c 0,1 dotnet "$OUT/bin/Skiff.Benchmarks.dll" fwdloop --frames "$FRAMES" --seconds "$S" --cpu 1 | tee "$OUT/skiff.$r.log")
  k=$(sed -E 's/.*mpps ([0-9.]+).*/\1/' <<<"$sk")
  echo "round $r: dpdk testpmd io net_ring $d Mpps | $sk"
  D+=" $d"; K+=" $k"
done
md=$(median <<<"$D"); mk=$(median <<<"$K")
echo
printf '%-52s %10s %10s\n' "in-memory io forwarding, one core (median of $ROUNDS)" "Mpps" "vs dpdk"
printf '%-52s %10s %10s\n' "dpdk-testpmd io, net_ring0+net_ring1, tx_first" "$md" "1.00"
printf '%-52s %10s %10s\n' "skiff Forwarder io, 2 InMemoryLink pairs, $FRAMES frames" "$mk" "$(awk -v a="$mk" -v b="$md" 'BEGIN {printf "%.3fx", a / b}')"
echo "rounds: dpdk$D | skiff$K"
