#!/usr/bin/env python3
"""Writes the benchmark zone and dnsperf's query list: python3 make-zone.py ZONEFILE QUERYFILE [HOSTS=2000].

The zone (example.com.) has HOSTS hosts with A and AAAA records, every tenth with a CNAME alias, MX and TXT records at
the apex. The query list mixes what an authoritative server sees: A and AAAA answers (80 %), CNAME chases, MX with
additional records, TXT, NODATA (a type the name lacks) and NXDOMAIN. The same files serve Skiff, NSD and Knot."""
import random
import sys

zone_path, query_path = sys.argv[1], sys.argv[2]
hosts = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
rng = random.Random(18)
with open(zone_path, "w") as z:
    z.write("$ORIGIN example.com.\n$TTL 3600\n")
    z.write("@ IN SOA ns1 hostmaster ( 2026120701 7200 3600 1209600 300 )\n")
    z.write("  IN NS ns1\n  IN NS ns2\n  IN MX 10 mail\n  IN MX 20 mail2\n")
    z.write('  IN TXT "v=spf1 mx -all"\n')
    z.write("ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\nmail IN A 192.0.2.25\nmail2 IN A 192.0.2.26\nmail IN AAAA 2001:db8::25\n")
    for i in range(hosts):
        z.write(f"h{i} IN A 10.{(i >> 8) & 255}.{i & 255}.1\n")
        z.write(f"h{i} IN AAAA 2001:db8::{i:x}\n")
        if i % 10 == 0:
            z.write(f"alias{i} IN CNAME h{i}\n")
queries = []
for _ in range(100000):
    x = rng.random()
    i = rng.randrange(hosts)
    if x < 0.6:
        queries.append(f"h{i}.example.com A")
    elif x < 0.8:
        queries.append(f"h{i}.example.com AAAA")
    elif x < 0.85:
        queries.append(f"alias{i - i % 10}.example.com A")
    elif x < 0.88:
        queries.append("example.com MX")
    elif x < 0.90:
        queries.append("example.com TXT")
    elif x < 0.95:
        queries.append(f"h{i}.example.com MX")
    else:
        queries.append(f"nx{i}.example.com A")
with open(query_path, "w") as q:
    q.write("\n".join(queries) + "\n")
