"""Prints the medians of a bench script's results file and ratios between its systems.

Usage: python3 bench/lib/medians.py RESULTS UNIT [A/B[=NOTE] ...]
RESULTS holds one "system round value" line per round (values in units per second). Each A/B argument prints
median(A)/median(B), followed by NOTE when given (e.g. "skiff-io/kernel=(target >= 2x)"); arguments joined by
';' print on one line. A system with no rounds gives "n/a".
"""
import statistics
import sys

rows = {}
for line in open(sys.argv[1]):
    name, _, value = line.split()
    rows.setdefault(name, []).append(int(value))
unit = sys.argv[2]
med = {n: statistics.median(v) for n, v in rows.items()}
width = max([len(n) for n in rows] + [9])
for n, v in rows.items():
    print(f"   {n:{width}s} median {med[n]/1e6:6.3f} {unit}   rounds: {' '.join(f'{x/1e6:.3f}' for x in v)}")


def ratio(spec):
    pair, _, note = spec.partition("=")
    a, b = pair.split("/")
    value = f"{med[a]/med[b]:.2f}x" if a in med and med.get(b) else "n/a"
    return f"{a} / {b} = {value}" + (f" {note}" if note else "")


for line in sys.argv[3:]:
    print("   " + ";  ".join(ratio(spec) for spec in line.split(";")))
