#!/bin/sh
# Regenerates expected/*.out from inputs/*.json with the real jq 1.6, the reference ACON names
# for canonical manifests. Run from this directory: ./regenerate.sh
set -eu
jq --version | grep -qx 'jq-1.6' || { echo "need jq 1.6, found $(jq --version)" >&2; exit 1; }
mkdir -p expected
for f in inputs/*.json; do
  n=$(basename "$f" .json)
  jq -jcS . < "$f" > "expected/$n.out"
done
