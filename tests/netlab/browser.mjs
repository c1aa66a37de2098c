// browser.mjs - the web viewer in the network lab: Debian's headless chromium
// run inside the viewer's namespace (a wrapper script `ip netns exec NS
// chromium` given to playwright-core as its executable; playwright talks to
// it over pipes, which cross namespaces), the viewer page loaded from the
// lab's cloud on its public address (so Chromium's Local Network Access
// check sees a public page talking to its own public server), Watch clicked,
// frames decoded, and the path session.stats() and the overlay report
// checked. The flags and the browser come from tests/browser/harness.mjs.
//
//   node tests/netlab/browser.mjs --cloud http://203.0.113.10:3001/ --robot ID
//        --netns viewer --expect host|srflx|relay|any [--relay] [--viewer-offers|--robot-offers] [--runs N]
//        [--g2g-frames N] [--play S] [--change-after S --change CMD]
//
// --relay opens the page with ?relay=1 (iceTransportPolicy 'relay');
// --viewer-offers with ?offer=1 (viewerOffers: the viewer offers, porthole.js's
// default); --robot-offers with ?offer=0 (the robot offers); neither: the page's default.
// --expect host: candidateType host over udp (routed LANs); srflx:
// candidateType srflx or prflx over udp, no TURN server; relay:
// candidateType relay and, when the viewer's own end is relayed (always
// with --relay), relayProtocol udp (with --relay: udp or tcp) and turnServer the lab's TURN server
// (turn:203.0.113.20:3478...); else the robot's end is. --runs N watches N
// times, each in a fresh page; --g2g-frames N also reads, in the last run,
// the capture-time marker of N frames (web/marker.js, as
// bench/robot-latency.mjs does) for glass to glass; --play S then watches
// the last run S seconds more and prints one JSON line a second
// ({"sample": i, "framesDecoded", "fps", "kbps", "width", "estimateKbps",
// "layer", "rtxSent", "encoders"}: what the SDK's stats() and the robot's
// telemetry say). --change-after S --change CMD: in the last run, S seconds
// after the Watch click, runs CMD (sh -c; e.g. rebinding the viewer's NAT),
// then waits up to 20 s for 30 more frames after at least one ICE restart
// and checks the path again, relayed over any TURN transport (the JSON
// line gets change_to_video_ms,
// ice_restarts and the new path). Run inside `lab.sh run`, in the lab's outer namespace, as
// root: by case.sh (browser-*) and bench/netlab.sh. Prints one JSON line
// per run on stdout ({first_frame_ms, g2g_p50_ms, candidateType, ...}),
// progress and failures on stderr; exits 0 when every run played over the
// expected path, 1 when not.

import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt;
};
const CLOUD = opt('--cloud');
const ROBOT = opt('--robot', 'labbot');
const NETNS = opt('--netns', 'viewer');
const EXPECT = opt('--expect');
const RELAY = argv.includes('--relay');
const ROBOT_OFFERS = argv.includes('--robot-offers'); // ?offer=0: the robot offers
const VIEWER_OFFERS = argv.includes('--viewer-offers'); // ?offer=1: the viewer offers (the default)
const RUNS = Number(opt('--runs', '1'));
const G2G_FRAMES = Number(opt('--g2g-frames', '0'));
const PLAY = Number(opt('--play', '0'));
const CHANGE_AFTER = Number(opt('--change-after', '0'));
const CHANGE = opt('--change', '');
if (!CLOUD || !['host', 'srflx', 'relay', 'any'].includes(EXPECT) || !(RUNS >= 1) || !/^[a-z0-9-]+$/.test(NETNS)
    || !(PLAY >= 0 && PLAY <= 600) || !(CHANGE_AFTER >= 0 && CHANGE_AFTER <= 600) || (CHANGE_AFTER > 0 && !CHANGE)) {
  console.error('usage: node tests/netlab/browser.mjs --cloud URL --robot ID --netns NS --expect host|srflx|relay|any '
    + '[--relay] [--runs N] [--g2g-frames N] [--play S (0..600)] [--change-after S --change CMD]');
  process.exit(2);
}
const log = (m) => console.error(`netlab-browser: ${m}`);
const LAB_PUBLIC = ['203.0.113.10', '203.0.113.20']; // the cloud and coturn (lab.sh)

// The wrapper: chromium in the viewer's namespace. harness.mjs reads
// PORTHOLE_CHROMIUM when it is imported, so set it first.
const dir = process.env.NETLAB_DIR || '/run/netlab';
const wrapper = join(dir, `chromium-${NETNS}.sh`);
// harness.mjs's --host-resolver-rules resolve nothing but 127.0.0.1, IP
// literals included; the wrapper swaps them for rules that also let the
// lab's public servers through (nothing else). (Appending a second switch
// is not enough: Chromium then kept harness.mjs's.)
const rules = `MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE ${LAB_PUBLIC.join(' , EXCLUDE ')}`;
writeFileSync(wrapper, `#!/bin/sh
# Made by tests/netlab/browser.mjs: chromium in the lab's ${NETNS} namespace.
for a in "$@"; do
    shift
    case "$a" in
    --host-resolver-rules=*) set -- "$@" '--host-resolver-rules=${rules}' ;;
    *) set -- "$@" "$a" ;;
    esac
done
exec ip netns exec ${NETNS} /usr/bin/chromium "$@"
`);
chmodSync(wrapper, 0o755);
process.env.PORTHOLE_CHROMIUM = wrapper;
const { launchBrowser, waitFor, sleep } = await import('../browser/harness.mjs');

const watchdog = setTimeout(() => {
  log(`FAIL: more than ${60 + RUNS * 30 + PLAY + CHANGE_AFTER} s`);
  process.exit(1);
}, (60 + RUNS * 30 + PLAY + CHANGE_AFTER) * 1000);
watchdog.unref();

/**
 * Checks the path of a stats() object against --expect; returns what is
 * wrong, or null. anyTransport: a relayed path may reach the TURN server
 * over TCP or TLS too (after an ICE restart the browser takes whichever of
 * its new allocations answers first).
 */
function wrongPath(st, anyTransport = false) {
  if (!st) return 'no stats';
  if (EXPECT === 'any') return null;
  if (EXPECT === 'host') {
    if (st.candidateType !== 'host' || st.protocol !== 'udp') return `${st.candidateType}/${st.protocol}, expected host/udp`;
    return null;
  }
  if (EXPECT === 'srflx') {
    if (!['srflx', 'prflx'].includes(st.candidateType)) return `candidateType ${st.candidateType}, expected srflx or prflx`;
    if (st.protocol !== 'udp') return `protocol ${st.protocol}, expected udp`;
    if (st.turnServer) return `a TURN server (${st.turnServer}) on a direct path`;
    return null;
  }
  if (st.candidateType !== 'relay') return `candidateType ${st.candidateType}, expected relay`;
  // Relayed by the viewer's own TURN allocation (always so with --relay),
  // or by the robot's only (then the viewer names no TURN server).
  if (RELAY && st.localCandidateType !== 'relay') return `localCandidateType ${st.localCandidateType} with ?relay=1`;
  if (st.localCandidateType === 'relay') {
    // With ?relay=1 Chromium keeps whichever of its allocations answers
    // first, and under load that is now and then the TCP one (to the same
    // TURN server and port): both are the viewer's end relayed.
    const protocols = RELAY ? ['udp', 'tcp'] : ['udp'];
    if (!protocols.includes(st.relayProtocol) && !anyTransport) {
      return `relayProtocol ${st.relayProtocol}, expected ${protocols.join(' or ')}`;
    }
    if (!/^turns?:203\.0\.113\.20:(3478|443)/.test(st.turnServer || '')
        || (!anyTransport && !/^turn:203\.0\.113\.20:3478/.test(st.turnServer))) {
      return `turnServer ${st.turnServer}, expected the lab's`;
    }
  } else if (st.remoteCandidateType !== 'relay' || st.turnServer) {
    return `remote ${st.remoteCandidateType}, turnServer ${st.turnServer}: not a relayed path`;
  }
  return null;
}

/** --play: one line a second of what the viewer receives and the robot says. */
async function play(page) {
  for (let i = 1; i <= PLAY; i++) {
    await sleep(1000);
    const x = await page.evaluate(async (rid) => {
      const s = window.portholeViewer.tiles.get(rid)?.session;
      const st = s ? await s.stats() : null;
      const bw = s?.telemetry?.bandwidth || null;
      return st && {
        framesDecoded: st.framesDecoded, fps: st.fps, kbps: st.bitrateKbps,
        width: window.portholeViewer.tiles.get(rid).video.videoWidth,
        estimateKbps: bw ? Math.round(bw.estimateKbps) : null, layer: bw ? bw.layer : null,
        rtxSent: bw ? bw.rtxSent : null, encoders: s.telemetry ? s.telemetry.encoders : null,
      };
    }, ROBOT);
    process.stdout.write(`${JSON.stringify({ sample: i, ...x })}\n`);
  }
}

/**
 * --change: CHANGE_AFTER s after the click (clickedAt, Date.now()), runs
 * CHANGE, then waits for 30 more decoded frames after an ICE restart.
 * Returns {ms (change to those frames), restarts, stats (the path now)}.
 */
async function changePath(page, clickedAt) {
  const frames = () => page.evaluate(async (rid) => {
    const s = window.portholeViewer.tiles.get(rid)?.session;
    const x = s ? await s.stats() : null;
    return x ? { n: x.framesDecoded, restarts: s.iceRestarts, stats: x } : null;
  }, ROBOT);
  const wait = clickedAt + CHANGE_AFTER * 1000 - Date.now();
  if (wait > 0) await sleep(wait);
  const before = await frames();
  log(`${Math.round((Date.now() - clickedAt) / 1000)} s after the click, ${before?.n} frames: ${CHANGE}`);
  execFileSync('sh', ['-c', CHANGE], { stdio: ['ignore', 'ignore', 'inherit'] });
  const t0 = Date.now();
  // Chromium may count the video afresh after the restart (a new
  // inbound-rtp: seen in CI, 650 frames before and 576 twenty seconds
  // after while the video played), so count from the lowest figure seen.
  let base = before?.n ?? 0;
  const after = await waitFor(async () => {
    const x = await frames();
    if (x) base = Math.min(base, x.n);
    return x && x.restarts >= 1 && x.n >= base + 30 ? x : null;
  }, 20000, '30 frames after an ICE restart', 50);
  return { ms: Date.now() - t0, restarts: after.restarts, stats: after.stats };
}

/** One session: click Watch, time the first frame, play, check the path. */
async function watchOnce(browser, url, run) {
  // Not browser.newPage(): it grants camera and microphone, which Chromium
  // refuses to a page on plain http:// at a public address (not a secure
  // context). RTCPeerConnection needs neither.
  const page = await browser.context.newPage();
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => browser.errors.push(`${url}: uncaught ${e.message}`));
  try {
    // Where the first frame's time goes, on the page's clock (the click's
    // timeStamp is on it too): the RTCPeerConnection's steps.
    await page.addInitScript(() => {
      const marks = {};
      window.__labPhases = marks;
      const mark = (k) => { if (marks[k] === undefined) marks[k] = performance.now(); };
      const Orig = window.RTCPeerConnection;
      window.RTCPeerConnection = class extends Orig {
        constructor(...a) {
          super(...a);
          mark('pc');
          this.addEventListener('icecandidate', (e) => { if (e.candidate) mark(`cand_${e.candidate.type}`); });
          this.addEventListener('iceconnectionstatechange', () => mark(`ice_${this.iceConnectionState}`));
          this.addEventListener('connectionstatechange', () => mark(`pc_${this.connectionState}`));
          this.addEventListener('track', () => mark('track'));
        }
        setRemoteDescription(d) { mark(`remote_${d && d.type}`); return super.setRemoteDescription(d); }
        setLocalDescription(d) { mark('local'); return super.setLocalDescription(d); }
        addIceCandidate(c) { if (c && c.candidate) mark(`rcand_${/ typ (\w+)/.exec(c.candidate)?.[1]}`); return super.addIceCandidate(c); }
      };
    });
    await page.goto(url);
    const row = page.locator(`#robot-list li[data-robot-id="${ROBOT}"]`);
    await row.locator('button.watch:not([disabled])').waitFor({ timeout: 15000 });
    await page.evaluate((rid) => {
      const b = { click: null, first: null };
      window.__lab = b;
      const isWatch = (e) => e.target instanceof Element && e.target.closest('button.watch');
      document.addEventListener('click', (e) => { if (isWatch(e)) b.click = e.timeStamp; }, { capture: true, once: true });
      document.addEventListener('click', (e) => {
        if (!isWatch(e)) return;
        // The tile may not exist yet when the click reaches the document:
        // look again until it does (b.late: how many times).
        const arm = () => {
          const t = window.portholeViewer.tiles.get(rid);
          if (t) t.video.requestVideoFrameCallback((now) => { b.first = now; });
          else { b.late = (b.late || 0) + 1; setTimeout(arm, 1); }
        };
        arm();
      }, { once: true });
    }, ROBOT);
    await row.locator('select.robot-stream').selectOption('color');
    const clickedAt = Date.now();
    await row.locator('button.watch').click();
    const b = await waitFor(() => page.evaluate(() => (window.__lab.first ? window.__lab : null)), 20000,
      'the first frame', 20);
    const phases = await page.evaluate((click) => Object.fromEntries(Object.entries(window.__labPhases || {})
      .map(([k, v]) => [k, Math.round(v - click)]).sort((x, y) => x[1] - y[1])
      .concat([['click_epoch_ms', Math.round(performance.timeOrigin + click)]])), b.click);
    // Frames decoded (the SDK's stats), then the path.
    const st = await waitFor(() => page.evaluate(async (rid) => {
      const s = window.portholeViewer.tiles.get(rid)?.session;
      const x = s ? await s.stats() : null;
      return x && x.framesDecoded >= 30 ? x : null;
    }, ROBOT), 20000, '30 frames decoded');
    let g2g = null;
    if (G2G_FRAMES > 0 && run === RUNS) {
      g2g = await page.evaluate(async ({ rid, frames }) => {
        const { readMarker, markerAge } = await import('/marker.js');
        const v = window.portholeViewer.tiles.get(rid).video;
        const canvas = document.createElement('canvas');
        const ages = [];
        await new Promise((resolve) => {
          let seen = 0;
          const onFrame = () => {
            const m = readMarker(v, canvas);
            const age = m === null ? null : markerAge(m, Date.now());
            if (age !== null) ages.push(age);
            if (++seen < frames) v.requestVideoFrameCallback(onFrame);
            else resolve();
          };
          v.requestVideoFrameCallback(onFrame);
        });
        return ages.sort((x, y) => x - y);
      }, { rid: ROBOT, frames: G2G_FRAMES });
    }
    if (PLAY > 0 && run === RUNS) await play(page);
    const change = CHANGE_AFTER > 0 && run === RUNS ? await changePath(page, clickedAt) : null;
    await sleep(1200); // the overlay refreshes every second
    const overlay = await page.locator(`#grid .tile[data-robot-id="${ROBOT}"] .stats .stat-path`).textContent()
      .catch(() => null);
    const wrong = wrongPath(st) || (change && wrongPath(change.stats, true));
    const pct = (a, p) => (a && a.length ? a[Math.min(a.length - 1, Math.ceil((p / 100) * a.length) - 1)] : null);
    const result = {
      run, expect: EXPECT, relay_forced: RELAY, first_frame_ms: Math.round(b.first - b.click),
      phases, frames: st.framesDecoded, candidateType: st.candidateType, localCandidateType: st.localCandidateType,
      remoteCandidateType: st.remoteCandidateType, protocol: st.protocol, relayProtocol: st.relayProtocol,
      turnServer: st.turnServer, overlay_path: overlay,
      g2g_p50_ms: g2g ? pct(g2g, 50) : undefined, g2g_p95_ms: g2g ? pct(g2g, 95) : undefined,
      g2g_n: g2g ? g2g.length : undefined,
      change_to_video_ms: change?.ms, ice_restarts: change?.restarts,
      candidateType_after: change?.stats.candidateType, turnServer_after: change?.stats.turnServer,
      lna_blocked: consoleErrors.some((e) => /LOCAL_NETWORK_ACCESS/.test(e)),
      error: wrong,
    };
    if (!wrong && overlay !== null && !overlay.startsWith(st.candidateType)) {
      result.error = `the overlay's path row says '${overlay}', stats() ${st.candidateType}`;
    }
    return result;
  } catch (e) {
    const blocked = consoleErrors.filter((x) => /LOCAL_NETWORK_ACCESS/.test(x));
    // What the page had when it failed: its connection and received video.
    const seen = await page.evaluate(async (rid) => {
      const s = window.portholeViewer?.tiles.get(rid)?.session;
      const pc = s?.peerConnection;
      const v = window.portholeViewer?.tiles.get(rid)?.video;
      const out = { state: s?.state, offers: s?._offers, pc: pc?.connectionState, ice: pc?.iceConnectionState,
        video: v ? { paused: v.paused, readyState: v.readyState, width: v.videoWidth, time: v.currentTime,
          tracks: v.srcObject?.getTracks?.().length } : null,
        phases: window.__labPhases, click: window.__lab?.click };
      if (pc) {
        const t = v?.srcObject?.getVideoTracks?.()[0];
        // Which SSRCs the robot's description names, which ones arrive, and
        // which one the element's track is fed by.
        Object.assign(out, { track: t ? { id: t.id, muted: t.muted, state: t.readyState } : null,
          remoteSsrcs: (pc.remoteDescription?.sdp || '').split(/\r?\n/).filter((l) => /^a=(ssrc|mid|msid|ssrc-group)/.test(l)),
          inbound: [] });
        (await pc.getStats()).forEach((x) => {
          if (x.type === 'inbound-rtp' && x.kind === 'video') {
            out.inbound.push({ ssrc: x.ssrc, mid: x.mid, trackIdentifier: x.trackIdentifier, packets: x.packetsReceived, decoded: x.framesDecoded });
            Object.assign(out, { packets: x.packetsReceived, bytes: x.bytesReceived, decoded: x.framesDecoded,
              keyframes: x.keyFramesDecoded, plis: x.pliCount, nacks: x.nackCount, lost: x.packetsLost });
          }
        });
      }
      return out;
    }, ROBOT).catch(() => null);
    return { run, expect: EXPECT, seen, error: `${e.message}${blocked.length ? ` (Local Network Access: ${blocked[0]})` : ''}` };
  } finally {
    await page.close().catch(() => {});
  }
}

const query = [RELAY ? 'relay=1' : '', ROBOT_OFFERS ? 'offer=0' : '', VIEWER_OFFERS && !ROBOT_OFFERS ? 'offer=1' : '']
  .filter(Boolean).join('&');
const url = `${CLOUD}${query ? `?${query}` : ''}`;
let failed = 0;
const browser = await launchBrowser();
try {
  for (let run = 1; run <= RUNS; run++) {
    const r = await watchOnce(browser, url, run);
    process.stdout.write(`${JSON.stringify(r)}\n`);
    if (r.error) {
      failed++;
      log(`run ${run}: FAIL: ${r.error}`);
    } else {
      log(`run ${run}: first frame ${r.first_frame_ms} ms over ${r.overlay_path}`);
    }
    if (run < RUNS) await sleep(400);
  }
  if (browser.errors.length) log(`page errors: ${browser.errors.slice(0, 3).join('; ')}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
