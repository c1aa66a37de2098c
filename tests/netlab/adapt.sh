#!/bin/bash
# adapt.sh - adaptive quality in the network lab (lab.sh): one robot, a
# viewer in headless Chromium behind a router whose WAN link is shaped
# (tc tbf) or lossy (nftables numgen), and a C viewer (netlab-viewer) on
# the public side with nothing in its way. One encode for both: the robot
# runs one colour encoder with VP8 temporal layers; each viewer's track
# forwards the layers its bandwidth estimate (its TWCC feedback) allows.
#
# Usage: adapt.sh CASE      (root; builds its own lab through lab.sh run)
#   slow    the Chromium viewer's link is 600 kbit/s: it keeps decoding
#           (frames decoded rise every second after the first 10 s) on a
#           lower layer, while the C viewer keeps the full rate; one
#           encoder all along (robot telemetry)
#   opens   as slow for 20 s, then the link opens to 5 Mbit/s: the
#           Chromium viewer climbs back to the top layer
#   loss    5% of the Chromium viewer's packets dropped at random: frames
#           keep coming, the estimate holds the top layer
# Each prints the Chromium viewer's per-second samples and the robot's
# estimate and layer; timings are not asserted beyond generous floors
# (bench/netlab.sh measures them).
#
# Binaries: PORTHOLE_CLOUD, PORTHOLE_ROBOT and NETLAB_VIEWER, or those of
# build/ next to tests/. NETLAB_LOGS=DIR keeps the lab's logs there. Exit status: 0 when the case behaved as described,
# 1 when not, 77 when it cannot run here (with the reason on stdout).
set -u

here=$(cd "$(dirname "$0")" && pwd)
case_name=${1:-}
case "$case_name" in
slow|opens|loss) ;;
*)
    sed -n '/^# Usage/,/^# Binaries/p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac

if [ ! -e /run/netlab/.private ]; then
    # shellcheck source=tests/netlab/lab.sh
    . "$here/lab.sh"
    lab_ready browser || exit 77
    exec "$here/lab.sh" run cone cone -- "$0" "$case_name"
fi

# shellcheck source=tests/netlab/lab.sh
. "$here/lab.sh"
# shellcheck source=tests/netlab/porthole.sh
. "$here/porthole.sh"
nl_bins || exit 1

fail()
{
    echo "case=$case_name FAILED: $*"
    nl_show_logs
    exit 1
}

play=45
nl_start_cloud full || fail "porthole-cloud did not start"
nl_start_robot --log-level debug || fail "porthole-robot did not register"

# The unshaped viewer: on the public side, for the whole time.
lab_exec pub "$NL_VIEWER_BIN" --cloud "$NL_CLOUD_URL" --robot "$NL_ROBOT_ID" \
    --address "$LAB_CLOUD_IP" --frames 30 --timeout 30 --play $((play + 20)) \
    >"$NETLAB_DIR/cviewer.out" 2>"$NETLAB_DIR/cviewer.err" &
cpid=$!
node "$here/browser.mjs" --cloud "http://$LAB_CLOUD_IP:$NL_CLOUD_PORT/" --robot "$NL_ROBOT_ID" \
    --netns viewer --expect any --play "$play" >"$NETLAB_DIR/browser.out" 2>"$NETLAB_DIR/browser.err" &
bpid=$!
# The link is shaped (or made lossy) once the Chromium viewer has loaded
# the page and clicked Watch (its session is the cloud's second): the
# case is about the video, and the page itself would take seconds to load
# through 600 kbit/s and a 300-ms queue.
for _ in $(seq 600); do
    [ "$(grep -c 'session .* created' "$NETLAB_DIR/cloud.log" 2>/dev/null)" -ge 2 ] && break
    kill -0 "$bpid" 2>/dev/null || break
    sleep 0.1
done
case "$case_name" in
slow|opens) lab_shape viewer 600 || fail "cannot shape the viewer's link" ;;
loss) lab_loss viewer 5 || fail "cannot drop the viewer's packets" ;;
esac
if [ "$case_name" = opens ]; then
    # 20 s into the Chromium viewer's play window (its first sample).
    for _ in $(seq 600); do
        grep -q '"sample":1,' "$NETLAB_DIR/browser.out" 2>/dev/null && break
        kill -0 "$bpid" 2>/dev/null || break
        sleep 0.1
    done
    sleep 19
    lab_shape viewer 5000 && echo "case=$case_name sample 20: the link opens to 5 Mbit/s"
fi
wait "$bpid"
brc=$?
wait "$cpid"
crc=$?
grep '"sample"' "$NETLAB_DIR/browser.out" | sed "s/^/case=$case_name chromium /"
echo "case=$case_name c-viewer $(tail -n 1 "$NETLAB_DIR/cviewer.out")"
grep -E 'encoder (started|stopped)|estimate' "$NETLAB_DIR/robot.log" | sed "s/^/case=$case_name robot: /" | tail -n 20
if [ -n "${NETLAB_LOGS:-}" ]; then
    mkdir -p "$NETLAB_LOGS" && cp "$NETLAB_DIR"/*.log "$NETLAB_DIR"/*.out "$NETLAB_LOGS"/ 2>/dev/null
fi
[ "$brc" = 0 ] || { cat "$NETLAB_DIR/browser.err"; fail "the Chromium viewer did not play"; }
[ "$crc" = 0 ] || { cat "$NETLAB_DIR/cviewer.err"; fail "the unshaped C viewer's video stopped"; }
cframes=$(tail -n 1 "$NETLAB_DIR/cviewer.out" | grep -o 'play_frames=[0-9]*' | cut -d= -f2)
[ "${cframes:-0}" -ge $(((play + 20) * 15)) ] ||
    fail "the unshaped C viewer decoded ${cframes:-0} frames in $((play + 20)) s (floor: 15 a second)"
# The Chromium viewer's samples, against generous floors (bench/adapt.sh
# measures): frames decoded rise every second after the first 10; at least
# 10 fps on average; one colour stream encoded (at most two sizes); and per
# case, the layer it ends on and the retransmissions.
node - "$case_name" "$NETLAB_DIR/browser.out" <<'CHECK' || fail "the Chromium viewer's samples (above) miss a floor"
const [kase, file] = process.argv.slice(2);
const lines = require('fs').readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('"sample"'));
const s = lines.map((l) => JSON.parse(l));
const bad = [];
if (s.length < 40) bad.push(`${s.length} samples`);
for (let i = 10; i < s.length; i++)
  if (!(s[i].framesDecoded > s[i - 1].framesDecoded)) bad.push(`no new frame in second ${i + 1}`);
const after = s.slice(10);
const fps = after.length ? (after[after.length - 1].framesDecoded - s[9].framesDecoded) / after.length : 0;
if (fps < 10) bad.push(`${fps.toFixed(1)} fps on average after the first 10 s`);
if (s.some((x) => x.encoders > 2)) bad.push('more than two encoders for one colour stream');
const last = s[s.length - 1] || {};
if (kase === 'slow' && !(last.layer < 4)) bad.push(`still on the top layer behind 600 kbit/s`);
if (kase === 'opens' && !(last.width === 640 && last.layer === 4))
  bad.push(`not back on the top layer (width ${last.width}, layer ${last.layer}) 25 s after the link opened`);
if (kase === 'loss' && !(last.rtxSent > 0)) bad.push('no retransmission with 5% loss');
console.log(`case=${kase} chromium: ${fps.toFixed(1)} fps after 10 s, last layer ${last.layer} at ${last.width} px, ${last.rtxSent} retransmissions`);
if (bad.length) { console.log(`case=${kase} FAILED: ${bad.slice(0, 5).join('; ')}`); process.exit(1); }
CHECK
exit 0
