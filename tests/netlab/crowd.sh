#!/bin/bash
# crowd.sh - adaptive quality (issue #15) with C viewers (netlab-viewer
# --twcc: webrtcbin sending TWCC feedback, as a browser does), each on a
# link of its own in the network lab (lab.sh, links.sh): one robot, one
# colour encode, each viewer on the layer its own link carries.
#
# Usage: crowd.sh CASE      (root; builds its own lab through lab.sh run)
#   twenty  twenty viewers at once: five behind 600 kbit/s, five behind
#           1.5 Mbit/s, five losing 5% of their packets, five unshaped;
#           one of each five decodes, the others count the frames their
#           depayloader completes (twenty VP8 decoders would starve two
#           cores). Every viewer gets new frames in each of the last 20 s
#           of 40, and the robot runs at most two colour encoders (one
#           full size, one half size) all along (its telemetry).
#   delay   one viewer behind 600 kbit/s and one unshaped, 60 s, both
#           decoding: the slow one's glass to glass (the capture-time
#           marker of each decoded frame against the clock) does not keep
#           growing: the median of the last 10 s is at most 250 ms above
#           that of seconds 10 to 20, and frames rise every second after
#           the first 10.
# Prints each viewer's per-second samples (netlab-viewer --samples) and its
# summary. Floors are generous; bench/adapt.sh measures the figures.
#
# Binaries: PORTHOLE_CLOUD, PORTHOLE_ROBOT and NETLAB_VIEWER, or those of
# build/ next to tests/. NETLAB_LOGS=DIR keeps the lab's logs there. Exit
# status: 0 when the case behaved as described, 1 when not, 77 when it
# cannot run here (with the reason on stdout).
set -u

here=$(cd "$(dirname "$0")" && pwd)
case_name=${1:-}
case "$case_name" in
twenty|delay) ;;
*)
    sed -n '/^# Usage/,/^# Binaries/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac

if [ ! -e /run/netlab/.private ]; then
    # shellcheck source=tests/netlab/lab.sh
    . "$here/lab.sh"
    lab_ready || exit 77
    exec "$here/lab.sh" run cone cone -- "$0" "$case_name"
fi

# shellcheck source=tests/netlab/lab.sh
. "$here/lab.sh"
# shellcheck source=tests/netlab/porthole.sh
. "$here/porthole.sh"
# shellcheck source=tests/netlab/links.sh
. "$here/links.sh"
nl_bins || exit 1

fail()
{
    echo "case=$case_name FAILED: $*"
    nl_show_logs
    exit 1
}

# crowd_viewer I KIND PLAY [ARGS...]: starts viewer I (output viewer-I.out,
# stderr viewer-I.log) in the background; its pid goes to pids.
pids=()
crowd_viewer()
{
    local i=$1 kind=$2 play=$3
    shift 3
    lab_exec viewer "$NL_VIEWER_BIN" --cloud "$NL_CLOUD_URL" --robot "$NL_ROBOT_ID" \
        --address "$(links_ip "$i")" --twcc --samples --frames 10 --timeout 40 --play "$play" "$@" \
        >"$NETLAB_DIR/viewer-$i.out" 2>"$NETLAB_DIR/viewer-$i.log" &
    pids[i]=$!
    echo "$kind" >"$NETLAB_DIR/viewer-$i.kind"
}

nl_start_cloud full || fail "porthole-cloud did not start"
nl_start_robot || fail "porthole-robot did not register"

case "$case_name" in
twenty)
    n=20 play=40 last=20
    links_add $n || fail "cannot add the viewers' addresses"
    for i in $(seq "$n"); do
        kinds=(600 1500 loss5 open)
        kind=${kinds[$(((i - 1) / 5))]}
        links_set "$i" "$kind" || fail "cannot give viewer $i a $kind link"
        decode=--no-decode
        [ $(((i - 1) % 5)) = 0 ] && decode=""
        # shellcheck disable=SC2086 # decode: one flag or none
        crowd_viewer "$i" "$kind" $play $decode
        sleep 0.2 # twenty DTLS handshakes and first keyframes, not all at once
    done
    ;;
delay)
    n=2 play=60 last=50
    { links_add $n && links_set 1 600 && links_set 2 open; } || fail "cannot make the viewers' links"
    crowd_viewer 1 600 $play
    crowd_viewer 2 open $play
    ;;
esac

failed=0
for i in $(seq "$n"); do
    wait "${pids[i]}" || failed=$((failed + 1))
done
for i in $(seq "$n"); do
    kind=$(cat "$NETLAB_DIR/viewer-$i.kind")
    sed "s/^/case=$case_name viewer $i ($kind): /" "$NETLAB_DIR/viewer-$i.out" | grep -v ' request_ms=' |
        if [ "$case_name" = delay ]; then cat; else tail -n 3; fi
    echo "case=$case_name viewer $i ($kind): $(tail -n 1 "$NETLAB_DIR/viewer-$i.out" | cut -c1-200)"
done
grep -E 'encoder (started|stopped)' "$NETLAB_DIR/robot.log" | sed "s/^/case=$case_name robot: /"
if [ -n "${NETLAB_LOGS:-}" ]; then
    mkdir -p "$NETLAB_LOGS" && cp "$NETLAB_DIR"/*.log "$NETLAB_DIR"/*.out "$NETLAB_LOGS"/ 2>/dev/null
fi
[ "$failed" = 0 ] || fail "$failed viewer(s) did not play to the end (their last line above)"

# The samples against the floors.
bad=""
for i in $(seq "$n"); do
    kind=$(cat "$NETLAB_DIR/viewer-$i.kind")
    why=$(awk -v last="$last" -v play="$play" -v kase="$case_name" '
        /^sample=/ {
            for (f = 1; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
            s = v["sample"]; frames[s] = v["frames"]; g2g[s] = v["g2g_p50"]; enc[s] = v["encoders"]
            n = s
        }
        function median(from, to,   k, m, a, i, j, t) {
            m = 0
            for (k = from; k <= to; k++) if ((k in g2g) && g2g[k] >= 0) a[++m] = g2g[k]
            for (i = 2; i <= m; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
            return m ? a[int((m + 1) / 2)] : -1
        }
        END {
            if (n < play - 2) { print n " samples of " play; exit }
            for (s = n - last + 1; s <= n; s++)
                if (!(frames[s] > frames[s - 1])) { print "no new frame in second " s; exit }
            for (s = 1; s <= n; s++)
                if (enc[s] > 2) { print enc[s] " encoders in second " s; exit }
            if (kase == "delay" && NR) {
                early = median(10, 20); late = median(n - 9, n)
                printf "g2g median %d ms in seconds 10-20, %d ms in the last 10\n", early, late > "/dev/stderr"
                if (early < 0 || late < 0) { print "no glass-to-glass reading (early " early ", late " late ")"; exit }
                if (late > early + 250) { print "glass to glass grew from " early " to " late " ms"; exit }
            }
        }' "$NETLAB_DIR/viewer-$i.out" 2>"$NETLAB_DIR/viewer-$i.check")
    [ -s "$NETLAB_DIR/viewer-$i.check" ] && echo "case=$case_name viewer $i ($kind): $(cat "$NETLAB_DIR/viewer-$i.check")"
    [ -n "$why" ] && bad="$bad; viewer $i ($kind): $why"
done
[ -z "$bad" ] || fail "${bad#; }"
echo "case=$case_name: every viewer within its floors"
exit 0
