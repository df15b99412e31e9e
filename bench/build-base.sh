#!/usr/bin/env bash
# Usage: bash bench/build-base.sh REV OUTDIR
# Builds the skiff CLI of git revision REV (a commit, tag or branch of this repository) into OUTDIR/skiff.dll, from a
# temporary worktree, for the interleaved A/B rows of the bench scripts (BASE=REV: skiff-afxdp-base and the like).
set -euo pipefail
REV=$1; DEST=$2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$(mktemp -d /tmp/skiff-base-src.XXXXXX)
trap 'git -C "$ROOT" worktree remove --force "$SRC" >/dev/null 2>&1 || rm -rf "$SRC"' EXIT
git -C "$ROOT" worktree add --detach "$SRC" "$REV" >/dev/null 2>&1 \
  || { echo "build-base.sh: $REV is not a revision of this repository (git rev-parse $REV)." >&2; exit 2; }
dotnet build -c Release "$SRC/src/Skiff.Cli" --artifacts-path "$SRC/.art" -o "$DEST" -v q -nologo >"$DEST.build.log" 2>&1 \
  || { cat "$DEST.build.log"; echo "build-base.sh: the build of $REV failed (above)." >&2; exit 1; }
echo "build-base.sh: $(git -C "$ROOT" rev-parse --short "$REV") built into $DEST"
