#!/bin/bash
# adapt.sh - adaptive quality (issue #15) measured in the network lab
# (tests/netlab/lab.sh, links.sh): C viewers (netlab-viewer --twcc, which
# send TWCC feedback as a browser does) each on a link of its own.
#   - three shaped scenarios, each one viewer on the shaped link and one
#     unshaped: slow (600 kbit/s), opens (600 kbit/s, then 5 Mbit/s after
#     20 s), loss (5% of the packets dropped at random); per viewer, each
#     second: received bitrate, fps, glass to glass, layer and estimate.
#     A small table over time (stderr), an SVG plot per scenario
#     (OUT/adapt-SCENARIO.svg) and a summary after the first 10 s (stdout);
#   - robot CPU (/proc/PID/stat of porthole-robot over a window) with 1, 5
#     and 20 viewers on mixed links (600 kbit/s, 1.5 Mbit/s, 5% loss,
#     unshaped, in turn), against one viewer of one fixed-rate encode (the
#     ladder off: --temporal-layers 1 --spatial-layer=false). The viewers
#     of the CPU runs count frames without decoding (--no-decode);
#   - opens and loss again with Chromium as the shaped viewer
#     (tests/netlab/adapt.sh): the C viewer negotiates neither NACK nor
#     RTX, so it gets no retransmissions and no padding probes, without
#     which a viewer on the half size cannot climb back to the full size.
# Prints one JSON line per figure ({"bench":"adapt", ...}) on stdout;
# asserts nothing (bench/table.mjs sets the figures beside the targets).
#
# Usage: bench/adapt.sh [--full] [--cpu [RUNS]] [--perf DIR] [BUILD_DIR]   (root)
#   short (make bench): 40-s scenarios (45 s for opens), 10-s CPU windows,
#   two Chromium runs: about 7 minutes. --full: 60-s scenarios, 20-s CPU windows.
#   --cpu: only the robot's CPU (part 2), about 2 minutes; RUNS (one word,
#   comma-separated MODE:VIEWERS, MODE fixed or adaptive) replaces the
#   default "fixed:1,adaptive:1,adaptive:5,adaptive:20", e.g. --cpu
#   adaptive:1,adaptive:20,adaptive:1,adaptive:20 for A/B repeats.
#   --perf DIR: `perf record -g` of the robot over each CPU window, into
#   DIR/robot-RUN-MODE-N.data (perf report --no-children -i FILE);
#   ADAPT_PERF_ARGS replaces -g (e.g. "--call-graph dwarf -F 200").
#   ADAPT_WINDOW=S: CPU windows of S seconds. ADAPT_VIEWER_ARGS: more
#   netlab-viewer options for the CPU runs (e.g. "--twcc-interval 50").
# Without root or the lab's tools it prints one line with "error" and exits 0.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
lab=$repo/tests/netlab/lab.sh

if [ "${1:-}" = _inside ]; then
    full=$2 out=$3 parts=$4 cpu_runs=$5 perf_dir=$6
    # shellcheck source=tests/netlab/lab.sh
    . "$lab"
    # shellcheck source=tests/netlab/porthole.sh
    . "$repo/tests/netlab/porthole.sh"
    # shellcheck source=tests/netlab/links.sh
    . "$repo/tests/netlab/links.sh"
    log() { echo "adapt-bench: $*" >&2; }
    emit() { echo "{\"bench\":\"adapt\",$1}"; }
    nl_bins >&2 || { emit "\"error\":\"binaries missing\""; exit 0; }
    if [ "$full" = 1 ]; then play=60 window=20; else play=40 window=10; fi
    window=${ADAPT_WINDOW:-$window}
    read -r load1 _ </proc/loadavg
    emit "\"metric\":\"config\",\"loadavg_1m\":$load1,\"cores\":$(nproc),\"full\":$full"
    nl_start_cloud full >&2 || { emit "\"error\":\"the cloud did not start\""; exit 0; }
    links_add 20 >&2 || { emit "\"error\":\"cannot add the viewers' addresses\""; exit 0; }

    # viewer I PLAY ARGS...: netlab-viewer on viewer I's address, in the background.
    vpids=()
    viewer() {
        local i=$1 p=$2
        shift 2
        lab_exec viewer "$NL_VIEWER_BIN" --cloud "$NL_CLOUD_URL" --robot "$NL_ROBOT_ID" \
            --address "$(links_ip "$i")" --twcc --frames 10 --timeout 40 --play "$p" "$@" \
            >"$NETLAB_DIR/v$i.out" 2>"$NETLAB_DIR/v$i.log" &
        vpids+=($!)
    }
    robot_up() {
        nl_start_robot "$@" >&2 || { emit "\"error\":\"the robot did not start\""; nl_show_logs >&2; exit 0; }
    }
    robot_down() {
        lab_stop_pids "$NL_ROBOT_PID"
    }
    all_open() {
        local i
        for i in $(seq 20); do links_set "$i" open; done
    }

    # 1. The shaped scenarios: viewer 1 on the shaped link, viewer 2 unshaped.
    scens="slow opens loss"
    [ "$parts" = cpu ] && scens=""
    for scen in $scens; do
        all_open
        case "$scen" in
        slow|opens) links_set 1 600 ;;
        loss) links_set 1 loss5 ;;
        esac
        p=$play open_at=0
        [ "$scen" = opens ] && p=$((play + 5)) open_at=20
        robot_up
        vpids=()
        viewer 1 "$p" --samples --g2g-after 10
        viewer 2 "$p" --samples --g2g-after 10
        if [ "$open_at" -gt 0 ]; then
            for _ in $(seq 600); do
                grep -q "^sample=$open_at " "$NETLAB_DIR/v1.out" 2>/dev/null && break
                sleep 0.1
            done
            links_set 1 5000 && log "[$scen] viewer 1's link opens to 5 Mbit/s"
        fi
        wait "${vpids[@]}"
        case "$scen" in slow|opens) l1=600kbit ;; loss) l1=loss5 ;; esac
        node "$here/adapt-plot.mjs" --scenario "$scen" --open-at "$open_at" --svg "$out/adapt-$scen.svg" \
            "$l1=$NETLAB_DIR/v1.out" "open=$NETLAB_DIR/v2.out"
        robot_down
    done

    # 2. Robot CPU: mixed links, viewers counting frames.
    cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
    kinds=(600 1500 loss5 open)
    run_no=0
    for run in ${cpu_runs//,/ }; do
        mode=${run%:*} n=${run#*:} run_no=$((run_no + 1))
        all_open
        if [ "$n" -gt 1 ]; then
            for i in $(seq "$n"); do links_set "$i" "${kinds[$(((i - 1) % 4))]}"; done
        fi
        if [ "$mode" = fixed ]; then robot_up --temporal-layers 1 --spatial-layer=false; else robot_up; fi
        vpids=()
        rm -f "$NETLAB_DIR"/v*.out
        for i in $(seq "$n"); do
            # shellcheck disable=SC2086 # ADAPT_VIEWER_ARGS is words
            viewer "$i" $((window + 14)) --no-decode --samples ${ADAPT_VIEWER_ARGS:-}
            sleep 0.2
        done
        sleep 10 # everyone connected and settled on a layer
        read -r load_before _ </proc/loadavg
        perf_pid=
        if [ -n "$perf_dir" ]; then
            # shellcheck disable=SC2086 # ADAPT_PERF_ARGS is words
            perf record -q ${ADAPT_PERF_ARGS:--g} -o "$perf_dir/robot-$run_no-$mode-$n.data" -p "$NL_ROBOT_PID" \
                >/dev/null 2>&1 &
            perf_pid=$!
        fi
        t0=$(cpu_ticks "$NL_ROBOT_PID") s0=$(date +%s%N)
        sleep "$window"
        t1=$(cpu_ticks "$NL_ROBOT_PID") s1=$(date +%s%N)
        if [ -n "$perf_pid" ]; then
            kill -INT "$perf_pid"
            wait "$perf_pid"
        fi
        hz=$(getconf CLK_TCK)
        cpu=$(awk -v t="$((t1 - t0))" -v hz="$hz" -v ns="$((s1 - s0))" 'BEGIN { printf "%.1f", 100 * t / hz / (ns / 1e9) }')
        wait "${vpids[@]}"
        playing=0 encoders=0
        for i in $(seq "$n"); do
            grep -q 'request_ms=.* error=' "$NETLAB_DIR/v$i.out" || playing=$((playing + 1))
            e=$(grep '^sample=' "$NETLAB_DIR/v$i.out" | grep -o 'encoders=[0-9]*' | cut -d= -f2 | sort -n | tail -n 1)
            [ "${e:-0}" -gt "$encoders" ] && encoders=$e
        done
        # The frames the viewers got per second over about the window (a
        # robot starved of CPU renders and sends fewer frames, and then
        # costs less): the mean of their samples 8 to 8 + window.
        fps=$(cat "$NETLAB_DIR"/v*.out | awk -v w="$window" -F'[ =]' '/^sample=/ {
                if ($2 >= 8 && $2 < 8 + w) for (k = 3; k < NF; k += 2) if ($k == "fps") { s += $(k + 1); c++ } }
            END { printf "%.1f", c ? s / c : -1 }')
        emit "\"metric\":\"robot_cpu\",\"mode\":\"$mode\",\"viewers\":$n,\"cpu_pct\":$cpu,\"window_s\":$window,\"playing\":$playing,\"encoders_max\":$encoders,\"viewer_fps_mean\":$fps,\"loadavg_1m\":$load_before"
        log "robot CPU, $mode, $n viewer(s): $cpu% of a core ($playing playing, at most $encoders encoders, viewers' mean $fps fps)"
        robot_down
    done
    exit 0
fi

# ---- outside: one lab for everything ----
full=0 parts=all cpu_runs=fixed:1,adaptive:1,adaptive:5,adaptive:20 perf_dir=
while [ $# -gt 0 ]; do
    case "$1" in
    --full) full=1 ;;
    --cpu)
        parts=cpu
        case "${2:-}" in *:*) cpu_runs=$2; shift ;; esac
        ;;
    --perf)
        perf_dir=$(mkdir -p "${2:-}" && cd "${2:-}" && pwd) || { echo '{"bench":"adapt","error":"--perf needs a directory"}'; exit 0; }
        shift
        ;;
    *) break ;;
    esac
    shift
done
build=$(cd "${1:-$repo/build}" 2>/dev/null && pwd) || { echo '{"bench":"adapt","error":"no build directory"}'; exit 0; }
out="$build/bench-results"
mkdir -p "$out"
if [ "$(id -u)" != 0 ]; then
    echo '{"bench":"adapt","error":"needs root (network namespaces)"}'
    exit 0
fi
for tool in turnserver nft conntrack openssl ip tc unshare node; do
    command -v "$tool" >/dev/null 2>&1 || { echo "{\"bench\":\"adapt\",\"error\":\"$tool is not installed\"}"; exit 0; }
done
export PORTHOLE_CLOUD=${PORTHOLE_CLOUD:-$build/porthole-cloud}
export PORTHOLE_ROBOT=${PORTHOLE_ROBOT:-$build/porthole-robot}
export NETLAB_VIEWER=${NETLAB_VIEWER:-$build/netlab-viewer}
export PORTHOLE_WEB_ROOT=${PORTHOLE_WEB_ROOT:-$repo/web}
"$lab" run cone cone -- "$(readlink -f "$0")" _inside "$full" "$out" "$parts" "$cpu_runs" "$perf_dir"
[ "$parts" = cpu ] && exit 0
# 3. The same link opening and loss with Chromium as the shaped viewer
# (tests/netlab/adapt.sh, each in a lab of its own): unlike the C viewer,
# it negotiates NACK and RTX, which the robot's retransmissions and its
# padding probes (the climb to the other size) need. No glass to glass.
for scen in opens loss; do
    if ! "$repo/tests/netlab/adapt.sh" "$scen" >"$out/adapt-chromium-$scen.txt" 2>&1; then
        echo "{\"bench\":\"adapt\",\"scenario\":\"chromium-$scen\",\"error\":\"$(grep -m1 -o 'SKIPPED.*\|FAILED.*' "$out/adapt-chromium-$scen.txt" | head -c 160 | tr -d '"\\')\"}"
    fi
    open_at=0
    [ "$scen" = opens ] && open_at=20
    grep -q '"sample"' "$out/adapt-chromium-$scen.txt" &&
        node "$here/adapt-plot.mjs" --scenario "chromium-$scen" --open-at "$open_at" \
            --svg "$out/adapt-chromium-$scen.svg" "chromium=$out/adapt-chromium-$scen.txt"
done
exit 0
