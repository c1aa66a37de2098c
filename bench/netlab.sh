#!/bin/bash
# netlab.sh - what a viewer across the internet gets, measured in the network
# lab (tests/netlab/lab.sh; only the cloud configured, as in the tests):
# for each path, direct (host: both LANs routed), srflx (two port-restricted
# cone NATs) and relay (two symmetric NATs):
#   - first frame: create-session (the C viewer, tests/netlab/viewer.c) or
#     the Watch click (the web viewer in headless Chromium, browser.mjs) to
#     the first decoded frame, over fresh viewers;
#   - glass to glass: the capture-time marker of each colour frame against
#     the clock at decoding (the C viewer, --play) or at
#     requestVideoFrameCallback (Chromium);
#   - robot CPU (/proc) with 1 and 3 C viewers on the relay path and 1 on
#     the srflx path: the cost of a relayed viewer.
# Prints one JSON line per figure ({"bench":"netlab", "path", "viewer",
# "metric", p50, p95, n, ...}) on stdout, progress on stderr; asserts
# nothing (bench/table.mjs sets the figures beside the issue's targets).
#
# Usage: bench/netlab.sh [--full] [--only host|srflx|relay] [--browser-only [RUNS]]
#                        [--viewer-offers|--robot-offers] [BUILD_DIR]   (root)
# --browser-only: only Chromium's first frames (RUNS of them, default 10), no C viewer,
# no glass to glass, no CPU: the A/B of the offer flows (--robot-offers: the robot
# offers, ?offer=0; --viewer-offers or neither: the viewer offers, ?offer=1,
# porthole.js's default).
# The C viewer answers the robot's offer unless --viewer-offers is given
# (NETLAB_VIEWER_OFFERS=1): its first-frame runs then offer too (netlab-viewer
# --offer; its "click" is then when it began its offer); its glass to glass
# and CPU runs do not.
# NETLAB_ROBOT_ARGS adds flags to the robot. NETLAB_LOGS=DIR keeps each lab's logs (cloud, robot, coturn, Chromium) in DIR/PATH/.
#   short (make bench): 5 C first frames, 3 in Chromium, 4-s windows: ~3 min
#   --full: 15 and 8, 10-s windows
# Without root or the lab's tools it prints one line with "error" and exits 0.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
lab=$repo/tests/netlab/lab.sh

if [ "${1:-}" = _inside ]; then
    # ---- inside one lab: _inside PATH FULL ----
    path=$2 full=$3
    # shellcheck source=tests/netlab/lab.sh
    . "$lab"
    # shellcheck source=tests/netlab/porthole.sh
    . "$repo/tests/netlab/porthole.sh"
    log() { echo "netlab-bench: [$path] $*" >&2; }
    emit() { echo "{\"bench\":\"netlab\",\"path\":\"$path\",$1}"; }
    nl_bins >&2 || { emit "\"error\":\"binaries missing\""; exit 0; }
    if [ "$full" = 1 ]; then c_runs=15 b_runs=8 window=10; else c_runs=5 b_runs=3 window=4; fi
    browser_only=${NETLAB_BROWSER_ONLY:-0}
    [ "$browser_only" = 0 ] || b_runs=$browser_only
    case "$path" in
    host) expect='^host/udp .* -> host/udp ' ;;
    srflx) expect='^(srflx|prflx)/udp .* -> (srflx|prflx)/udp ' ;;
    relay) expect='relay/udp' ;;
    esac
    # How busy the machine is (it may be shared): every figure below moves with it.
    read -r load1 _ </proc/loadavg
    emit "\"metric\":\"config\",\"loadavg_1m\":$load1,\"cores\":$(nproc),\"full\":$full"
    if ! nl_start_cloud full >&2 || ! nl_start_robot ${NETLAB_ROBOT_ARGS:-} >&2; then
        emit "\"error\":\"the cloud or the robot did not start\""
        nl_show_logs >&2
        exit 0
    fi
    field() { grep -o " $1=\"[^\"]*\"\| $1=[^ \"]*" <<<" $2" | head -n 1 | sed 's/^ [^=]*=//; s/^"//; s/"$//'; }
    # summary NAME: p50, p95, min, max, n of the numbers on stdin (nearest rank).
    summary() {
        sort -n | awk -v name="$1" '{ v[NR] = $1 }
            function rank(p,  k) { k = int(p / 100 * NR + 0.999999); return v[k < 1 ? 1 : k] }
            END { if (!NR) { printf "\"metric\":\"%s\",\"n\":0", name; exit }
                  printf "\"metric\":\"%s\",\"p50\":%.1f,\"p95\":%.1f,\"min\":%.1f,\"max\":%.1f,\"n\":%d",
                      name, rank(50), rank(95), v[1], v[NR], NR }'
    }

    if [ "$browser_only" = 0 ]; then
    # 1. C viewer: first frames, fresh viewers one after another.
    : >"$NETLAB_DIR/ff" ; : >"$NETLAB_DIR/conn"; wrong=0
    c_offer=() c_offers=robot c_from="create-session sent"
    [ "${NETLAB_VIEWER_OFFERS:-0}" = 1 ] && c_offer=(--offer) c_offers=viewer c_from="offer begun"
    for i in $(seq "$c_runs"); do
        line=$(nl_viewer "${c_offer[@]}" --frames 10 --timeout 20 2>/dev/null)
        p=$(field path "$line")
        if grep -Eq "$expect" <<<"$p"; then
            field click_ms "$line" >>"$NETLAB_DIR/ff"
            req=$(field request_ms "$line") con=$(field connected_ms "$line")
            awk -v c="$con" -v r="$req" 'BEGIN { if (c > 0) printf "%.1f\n", c - r }' >>"$NETLAB_DIR/conn"
        else
            wrong=$((wrong + 1))
            log "C viewer run $i: path '$p' (${line:0:160})"
        fi
        sleep 0.3
    done
    emit "\"viewer\":\"c\",$(summary first_frame_ms <"$NETLAB_DIR/ff"),\"connected\":{$(summary connected_ms <"$NETLAB_DIR/conn")},\"wrong_path\":$wrong,\"from\":\"$c_from\",\"offers\":\"$c_offers\""
    log "C viewer first frame: $(summary x <"$NETLAB_DIR/ff")"

    # 2. C viewer: glass to glass over one session.
    line=$(nl_viewer --frames 30 --timeout 20 --play "$window" 2>/dev/null)
    emit "\"viewer\":\"c\",\"metric\":\"glass_to_glass_ms\",\"p50\":$(field g2g_p50 "$line"),\"p95\":$(field g2g_p95 "$line"),\"n\":$(field g2g_n "$line"),\"ice_path\":\"$(field path "$line")\",\"jitter_buffer_ms\":20"
    log "C viewer glass to glass: ${line##*g2g_n=}"

    # 3. Robot CPU: 1 (and on the relay path 3) C viewers playing.
    clk=$(getconf CLK_TCK)
    ticks() { awk '{ print $14 + $15 }' "/proc/$NL_ROBOT_PID/stat"; }
    cpu_with() {
        local n=$1 pids=() i t0 t1 s0 s1
        for i in $(seq "$n"); do
            nl_viewer --frames 30 --timeout 20 --play $((window + 4)) >"$NETLAB_DIR/cpu$i.out" 2>/dev/null &
            pids+=($!)
        done
        for _ in $(seq 200); do
            [ "$(cat "$NETLAB_DIR"/cpu*.out 2>/dev/null | grep -c '^event=frames')" -ge "$n" ] && break
            sleep 0.1
        done
        sleep 1
        t0=$(ticks) s0=$(date +%s%N)
        sleep "$window"
        t1=$(ticks) s1=$(date +%s%N)
        wait "${pids[@]}"
        local ok
        ok=$(grep -l "path=\"[^\"]*$( [ "$path" = relay ] && echo relay)" "$NETLAB_DIR"/cpu*.out 2>/dev/null | wc -l)
        rm -f "$NETLAB_DIR"/cpu*.out
        awk -v a="$t0" -v b="$t1" -v hz="$clk" -v s0="$s0" -v s1="$s1" -v n="$n" -v ok="$ok" \
            'BEGIN { printf "\"viewers\":%d,\"on_path\":%d,\"cpu_pct_of_core\":%.1f", n, ok, 100 * (b - a) / hz / ((s1 - s0) / 1e9) }'
    }
    one=$(cpu_with 1)
    emit "\"viewer\":\"c\",\"metric\":\"robot_cpu\",$one,\"window_s\":$window"
    log "robot CPU: $one"
    if [ "$path" = relay ]; then
        three=$(cpu_with 3)
        emit "\"viewer\":\"c\",\"metric\":\"robot_cpu\",$three,\"window_s\":$window"
        log "robot CPU: $three"
    fi
    fi # browser_only

    # 4. Chromium: first frames (Watch click) and glass to glass.
    if command -v node >/dev/null && [ -d "$repo/node_modules/playwright-core" ] && [ -x /usr/bin/chromium ]; then
        node "$repo/tests/netlab/browser.mjs" --cloud "http://$LAB_CLOUD_IP:$NL_CLOUD_PORT/" \
            --robot "$NL_ROBOT_ID" --netns viewer --expect "$path" --runs "$b_runs" \
            $([ "${NETLAB_VIEWER_OFFERS:-1}" = 1 ] && echo --viewer-offers || echo --robot-offers) \
            --g2g-frames $((window * 30)) >"$NETLAB_DIR/chromium.jsonl" 2>"$NETLAB_DIR/chromium.err"
        grep -v '"error":"[^n]' "$NETLAB_DIR/chromium.jsonl" | grep -o '"first_frame_ms":[0-9.]*' |
            cut -d: -f2 >"$NETLAB_DIR/bff"
        wrong=$(grep -c '"error":"' "$NETLAB_DIR/chromium.jsonl")
        emit "\"viewer\":\"chromium\",$(summary first_frame_ms <"$NETLAB_DIR/bff"),\"wrong_path\":$wrong,\"from\":\"Watch click\",\"offers\":\"$([ "${NETLAB_VIEWER_OFFERS:-1}" = 1 ] && echo viewer || echo robot)\""
        # Glass to glass: the last run's, over --g2g-frames frames.
        last=$(tail -n 1 "$NETLAB_DIR/chromium.jsonl")
        g50=$(grep -o '"g2g_p50_ms":[0-9.]*' <<<"$last" | cut -d: -f2)
        g95=$(grep -o '"g2g_p95_ms":[0-9.]*' <<<"$last" | cut -d: -f2)
        gn=$(grep -o '"g2g_n":[0-9]*' <<<"$last" | cut -d: -f2)
        emit "\"viewer\":\"chromium\",\"metric\":\"glass_to_glass_ms\",\"p50\":${g50:-null},\"p95\":${g95:-null},\"n\":${gn:-0}"
        log "Chromium: first frames $(summary x <"$NETLAB_DIR/bff"), glass to glass p50 $g50 ms"
        [ "$wrong" = 0 ] || sed 's/^/  /' "$NETLAB_DIR/chromium.err" >&2
    else
        emit "\"viewer\":\"chromium\",\"error\":\"node, playwright-core or chromium missing\""
    fi
    if [ -n "${NETLAB_LOGS:-}" ]; then # the lab's logs, per path
        mkdir -p "$NETLAB_LOGS/$path" && cp "$NETLAB_DIR"/*.log "$NETLAB_DIR"/chromium.* "$NETLAB_LOGS/$path"/ 2>/dev/null
    fi
    exit 0
fi

# ---- outside: one lab per path ----
full=0 only=""
while [ $# -gt 0 ]; do
    case "$1" in
    --full) full=1; shift ;;
    --only) only=${2:-}; shift 2 ;;
    --browser-only)
        export NETLAB_BROWSER_ONLY=10
        shift
        case "${1:-}" in [0-9]*) NETLAB_BROWSER_ONLY=$1; shift ;; esac ;;
    --viewer-offers) export NETLAB_VIEWER_OFFERS=1; shift ;;
    --robot-offers) export NETLAB_VIEWER_OFFERS=0; shift ;;
    *) break ;;
    esac
done
build=$(cd "${1:-$repo/build}" && pwd)
if [ "$(id -u)" != 0 ]; then
    echo '{"bench":"netlab","error":"the network lab needs root"}'
    exit 0
fi
for tool in turnserver nft conntrack openssl curl; do
    command -v "$tool" >/dev/null 2>&1 ||
        { echo "{\"bench\":\"netlab\",\"error\":\"$tool is not installed\"}"; exit 0; }
done
export PORTHOLE_CLOUD=${PORTHOLE_CLOUD:-$build/porthole-cloud}
export PORTHOLE_ROBOT=${PORTHOLE_ROBOT:-$build/porthole-robot}
export NETLAB_VIEWER=${NETLAB_VIEWER:-$build/netlab-viewer}
while read -r path rkind vkind; do
    [ -z "$only" ] || [ "$only" = "$path" ] || continue
    echo "netlab-bench: $path path ($rkind / $vkind routers)" >&2
    "$lab" run "$rkind" "$vkind" -- "$here/netlab.sh" _inside "$path" "$full" </dev/null
done <<EOF
host open open
srflx cone cone
relay symmetric symmetric
EOF
exit 0
