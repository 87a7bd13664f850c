#!/usr/bin/env bash
# quick-compare.sh [ROUNDS]: redis-benchmark SET/GET side by side, in one run, against
# a single dynkv node, a 3-node dynkv dev cluster (N=3 R=2 W=2, load sent to node 1)
# and a fresh redis-server (appendonly yes, appendfsync everysec), alternating, ROUNDS
# times (default 3); prints medians and ratios to redis-server.
# Load: -t set,get -n 50000 -r 100000 -d 100 -c 50. Needs redis-server, redis-benchmark.
# Superseded by `dynkv bench --quick` (docs/bench.md); kept as a dependency-free cross-check.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
go build -o "$dir/dynkv" ./cmd/dynkv
"$dir/dynkv" serve --listen 127.0.0.1:7601 --gossip.listen 127.0.0.1:7901 --data.dir "$dir/one" --log.level warn 2>"$dir/one.log" & pids+=($!)
"$dir/dynkv" dev --port 7700 --dir "$dir/dev" --log.level error >"$dir/dev.log" 2>&1 & pids+=($!)
redis-server --port 7999 --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec --dir "$dir" >/dev/null 2>&1 & pids+=($!)
for p in 7601 7700 7701 7702 7999; do
  for _ in $(seq 100); do redis-cli -p $p ping >/dev/null 2>&1 && break; sleep 0.1; done
done
for _ in $(seq "$rounds"); do
  for p in 7601 7700 7999; do
    redis-benchmark -h 127.0.0.1 -p $p -t set,get -n 50000 -r 100000 -d 100 -c 50 --csv | sed "s/^/$p,/" >>"$dir/out.csv"
  done
done
python3 - "$dir/out.csv" <<'PY'
import csv, statistics, sys
rows = {}
for r in csv.reader(open(sys.argv[1])):
    if len(r) < 3 or r[1] == "test": continue
    rows.setdefault((r[1], r[0]), []).append(float(r[2]))
for t in ("SET", "GET"):
    red = statistics.median(rows[(t, "7999")])
    one = statistics.median(rows[(t, "7601")]); three = statistics.median(rows[(t, "7700")])
    print(f"{t}: single node {one:,.0f} rps ({one/red:.2f}x), 3-node cluster {three:,.0f} rps ({three/red:.2f}x), redis-server {red:,.0f} rps")
PY
