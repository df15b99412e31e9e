#!/usr/bin/env bash
# Usage (root): flock /tmp/skiff-bench.lock bash bench/lpm.sh [ROUNDS=3]
# ns per IPv4 LPM lookup, Skiff's DIR-24-8 table (src/Skiff.Forwarding/Ipv4LpmTable.cs) against DPDK 22.11's rte_lpm, same run
# (issue 17). Each round runs DPDK's own `dpdk-test` lpm_perf_autotest (~1.08 M random routes with its prefix-length
# distribution, rte_lpm with 2048 tbl8 groups, 1024 batches of 4096 rte_rand() addresses, single, bulk and x4 lookups), then
# `Skiff.Benchmarks lpm` on a table built from the distribution that round's DPDK run printed (same count per prefix length,
# same 2048 second-level groups, random prefixes outside 224/3 as DPDK's class A/B/C generator) with the same lookup loop
# (Forwarding/LpmBench.cs). DPDK's cycles become ns with the TSC rate measured here (rdtsc over CLOCK_MONOTONIC).
# Prints each round and the medians; ratio = Skiff ns / DPDK ns (below 1: Skiff faster).
# Needs: dotnet, gcc, dpdk-test (apt-get install dpdk; Debian ships it in the dpdk package), hugepages (falls back to --no-huge).
set -euo pipefail
ROUNDS=${1:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp -d /tmp/skiff-lpm.XXXXXX)
trap '[ -n "${KEEP:-}" ] && echo "logs kept in $OUT" || rm -rf "$OUT"' EXIT
for t in dotnet gcc dpdk-test stdbuf; do
  command -v $t >/dev/null || { echo "lpm.sh: $t is missing (dpdk-test: apt-get install dpdk)." >&2; exit 2; }
done
echo "== build"
dotnet build -c Release "$ROOT/bench/Skiff.Benchmarks" --artifacts-path "${ARTIFACTS:-/tmp/art-lpm}" -o "$OUT/bin" -v q -nologo >"$OUT/build.log" 2>&1 \
  || { cat "$OUT/build.log"; echo "lpm.sh: the benchmark build failed (above)." >&2; exit 1; }
cat >"$OUT/tsc.c" <<'C'
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(void) { double t0 = now(); unsigned long long c0 = __rdtsc(); while (now() - t0 < 0.5) {} printf("%.1f\n", (__rdtsc() - c0) / (now() - t0) / 1e6); return 0; }
C
gcc -O2 -o "$OUT/tsc" "$OUT/tsc.c"
MHZ=$("$OUT/tsc"); echo "TSC ${MHZ} MHz (measured); /proc/cpuinfo: $(grep -m1 'cpu MHz' /proc/cpuinfo | cut -d: -f2 | tr -d ' ') MHz"
HUGE=(); [ "$(cat /proc/sys/vm/nr_hugepages)" -ge 100 ] && mountpoint -q /dev/hugepages || HUGE=(--no-huge -m 512)

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
S=""; D1=""; DB=""; DX=""
for r in $(seq 1 "$ROUNDS"); do
  log="$OUT/dpdk.$r.log"
  echo lpm_perf_autotest | stdbuf -oL dpdk-test -l 1 --no-pci "${HUGE[@]}" --file-prefix skflpm$$ >"$log" 2>&1 || true
  grep -q "Average LPM Lookup" "$log" || { cat "$log"; echo "lpm.sh: lpm_perf_autotest printed no lookup figure (above)." >&2; exit 1; }
  depths=$(awk '/^[0-9][0-9] +[0-9]+ \([0-9.]+\) *$/ {printf "%s%d:%d", sep, $1, $2; sep=","}' "$log")
  cyc() { grep -m1 "$1" "$log" | sed -E 's/.*: ([0-9.]+) cycles.*/\1/'; }
  fails=$(grep -m1 "Average LPM Lookup" "$log" | sed -E 's/.*fails = ([0-9.]+)%.*/\1/')
  d1=$(awk -v c="$(cyc 'Average LPM Lookup')" -v m="$MHZ" 'BEGIN {printf "%.2f", c * 1000 / m}')
  db=$(awk -v c="$(cyc 'BULK LPM Lookup')" -v m="$MHZ" 'BEGIN {printf "%.2f", c * 1000 / m}')
  dx=$(awk -v c="$(cyc 'LPM LookupX4')" -v m="$MHZ" 'BEGIN {printf "%.2f", c * 1000 / m}')
  sk=$(dotnet "$OUT/bin/Skiff.Benchmarks.dll" lpm --depths "$depths" --groups 2048 --seed $r | tee "$OUT/skiff.$r.log")
  s=$(sed -E 's/.*lookup_ns ([0-9.]+).*/\1/' <<<"$sk")
  echo "round $r: dpdk $(grep -m1 'No. routes' "$log"), $(grep -m1 'Unique added' "$log"); single $d1 ns (fails $fails%), bulk $db ns, x4 $dx ns | $sk"
  S+=" $s"; D1+=" $d1"; DB+=" $db"; DX+=" $dx"
done
ms=$(median <<<"$S"); m1=$(median <<<"$D1"); mb=$(median <<<"$DB"); mx=$(median <<<"$DX")
echo
printf '%-44s %10s %14s\n' "lookup (median of $ROUNDS rounds)" "ns" "skiff/this"
printf '%-44s %10s %14s\n' "skiff Ipv4LpmTable.TryLookup (one at a time)" "$ms" "1.00"
printf '%-44s %10s %14s\n' "dpdk rte_lpm_lookup (one at a time)" "$m1" "$(awk -v a="$ms" -v b="$m1" 'BEGIN {printf "%.2fx", a / b}')"
printf '%-44s %10s %14s\n' "dpdk rte_lpm_lookup_bulk (16)" "$mb" "$(awk -v a="$ms" -v b="$mb" 'BEGIN {printf "%.2fx", a / b}')"
printf '%-44s %10s %14s\n' "dpdk rte_lpm_lookupx4 (SSE)" "$mx" "$(awk -v a="$ms" -v b="$mx" 'BEGIN {printf "%.2fx", a / b}')"
echo "rounds: skiff$S | dpdk single$D1 | bulk$DB | x4$DX"
