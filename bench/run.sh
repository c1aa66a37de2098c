#!/bin/sh
# run.sh - `make bench`: a short run of every benchmark, then one table.
#
# Usage: bench/run.sh [--full] [--million] [BUILD_DIR]
#   (default) short versions, about 12 minutes in all: router_bench with
#             20,000 sessions, token_bench, bench/cloud-load.sh --short (S1 at 5,000
#             connections), bench/cloud-cluster.sh --short (S2/S3 with workers and Redis),
#             bench/robot-latency.mjs --short, bench/netlab.sh
#             (the network lab: host, srflx and relay paths; about 3 minutes),
#             bench/adapt.sh (adaptive quality: 600 kbit/s, a link that opens,
#             5% loss, and robot CPU with 1, 5 and 20 viewers; about 5 minutes;
#             SVG plots in BUILD_DIR/bench-results/adapt-*.svg),
#             depth_bench and bench/depth.mjs --short (the metric depth channel)
#             camera_bench (robot CPU per camera source, 5-s windows; 10 s with --full)
#   --full    the sizes of the targets (S1 at 19,000 connections, 10-s
#             windows, 10 first frames, 900 frames; 15 first frames a path
#             in the lab): about 10 minutes
#   --million also bench/million.sh (N registered clients over --workers and
#             generator processes, then one robot's robot-available to all
#             of them; 50,000, 200,000 and 1,000,000 clients, each scale up
#             to 10 minutes, stopping at the first that fails)
# Every benchmark prints JSON lines; they are kept in BUILD_DIR/bench/ and
# bench/table.mjs turns them into the table. Needs root (network namespaces).
set -eu
full=0
million=0
while :; do
    case ${1:-} in
    --full) full=1; shift ;;
    --million) million=1; shift ;;
    *) break ;;
    esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
out="$build/bench-results"
mkdir -p "$out"
rm -f "$out"/*.jsonl

start=$(date +%s)
echo "== router_bench (in process, one core)" >&2
if [ "$full" = 1 ]; then
    "$build/router_bench" > "$out/router.jsonl"
else
    "$build/router_bench" 20000 200000 > "$out/router.jsonl"
fi
echo "== token_bench (token verification per connection, one core)" >&2
"$build/token_bench" > "$out/token.jsonl" || true
echo "== bench/cloud-load.sh (porthole-cloud over loopback sockets)" >&2
if [ "$full" = 1 ]; then
    "$root/bench/cloud-load.sh" "$build" > "$out/cloud.jsonl" || true
else
    "$root/bench/cloud-load.sh" --short "$build" > "$out/cloud.jsonl" || true
fi
echo "== bench/cloud-cluster.sh (S2/S3 with 1, 2, 4 workers; two instances on Redis)" >&2
if [ "$full" = 1 ]; then
    "$root/bench/cloud-cluster.sh" "$build" > "$out/cluster.jsonl" || true
else
    "$root/bench/cloud-cluster.sh" --short "$build" > "$out/cluster.jsonl" || true
fi
echo "== bench/robot-latency.mjs (porthole-robot to headless Chromium)" >&2
if [ "$full" = 1 ]; then
    node "$root/bench/robot-latency.mjs" --build "$build" > "$out/robot.jsonl" || true
else
    node "$root/bench/robot-latency.mjs" --short --build "$build" > "$out/robot.jsonl" || true
fi
echo "== camera_bench (porthole-robot's CPU per camera source, one viewer)" >&2
window=5
if [ "$full" = 1 ]; then window=10; fi
PORTHOLE_CLOUD="$build/porthole-cloud" PORTHOLE_ROBOT="$build/porthole-robot" \
PORTHOLE_WEB_ROOT="$root/web" "$root/tests/netns-run.sh" "$build/camera_bench" \
    --window "$window" --replay > "$out/camera.jsonl" || true
echo "== bench/netlab.sh (the network lab: direct, srflx and relay paths)" >&2
if [ "$full" = 1 ]; then
    "$root/bench/netlab.sh" --full "$build" > "$out/netlab.jsonl" || true
else
    "$root/bench/netlab.sh" "$build" > "$out/netlab.jsonl" || true
fi
echo "== bench/adapt.sh (adaptive quality: shaped and lossy links, robot CPU with 1, 5, 20 viewers)" >&2
if [ "$full" = 1 ]; then
    "$root/bench/adapt.sh" --full "$build" > "$out/adapt.jsonl" || true
else
    "$root/bench/adapt.sh" "$build" > "$out/adapt.jsonl" || true
fi
echo "== depth_bench and bench/depth.mjs (the metric depth channel)" >&2
"$build/depth_bench" > "$out/depth.jsonl" || true
if [ "$full" = 1 ]; then
    node "$root/bench/depth.mjs" --build "$build" >> "$out/depth.jsonl" || true
else
    node "$root/bench/depth.mjs" --short --build "$build" >> "$out/depth.jsonl" || true
fi
if [ "$million" = 1 ]; then
    echo "== bench/million.sh (up to a million registered clients, --workers)" >&2
    "$root/bench/million.sh" "$build" > "$out/million.jsonl" || true
else
    : > "$out/million.jsonl"
fi
end=$(date +%s)
node "$root/bench/table.mjs" --seconds $((end - start)) "$out/router.jsonl" "$out/token.jsonl" \
    "$out/cloud.jsonl" "$out/cluster.jsonl" "$out/robot.jsonl" "$out/camera.jsonl" "$out/netlab.jsonl" "$out/adapt.jsonl" \
    "$out/depth.jsonl" "$out/million.jsonl"
