#!/usr/bin/env bash
# Records every library's public API in its PublicAPI.Unshipped.txt (Microsoft.CodeAnalysis.PublicApiAnalyzers):
# run it after a deliberate change to a public API, then review the diff. With --ship, moves what is unshipped into
# PublicAPI.Shipped.txt (at a release). Usage: bash scripts/public-api.sh [--ship] [src/Project ...]
set -euo pipefail
cd "$(dirname "$0")/.."
ship=false
if [ "${1:-}" = "--ship" ]; then ship=true; shift; fi
projects=("$@")
if [ ${#projects[@]} -eq 0 ]; then
    mapfile -t projects < <(ls -d src/*/ | sed 's:/$::' | grep -v 'src/Skiff.Cli$')
fi
for dir in "${projects[@]}"; do
    name=$(basename "$dir")
    for f in Shipped Unshipped; do
        [ -f "$dir/PublicAPI.$f.txt" ] || printf '#nullable enable\n' > "$dir/PublicAPI.$f.txt"
    done
    echo "$name: recording its public API"
    dotnet format analyzers "$dir/$name.csproj" --diagnostics RS0016 RS0017 --severity warn -v q
    if $ship; then
        { cat "$dir/PublicAPI.Shipped.txt"; grep -v '^#nullable enable' "$dir/PublicAPI.Unshipped.txt" || true; } > "$dir/PublicAPI.Shipped.tmp"
        { echo '#nullable enable'; grep -v '^#nullable enable' "$dir/PublicAPI.Shipped.tmp" | LC_ALL=C sort -u; } > "$dir/PublicAPI.Shipped.txt"
        rm "$dir/PublicAPI.Shipped.tmp"
        printf '#nullable enable\n' > "$dir/PublicAPI.Unshipped.txt"
    fi
done
