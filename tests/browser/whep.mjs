// whep.mjs - WHEP (draft-ietf-wish-whep) from headless Debian chromium with
// a plain RTCPeerConnection and fetch, no SDK: against the cloud's
// /api/robots/{robotId}/whep and the robot's own /api/whep, with trickle
// (PATCH application/trickle-ice-sdpfrag) and without (the offer waits for
// ICE gathering); the video must decode, and DELETE must end the session on
// the robot (its REST session list no longer shows it).
//
//   node tests/browser/whep.mjs [scenario ...]
//
// Environment: PORTHOLE_CLOUD, PORTHOLE_ROBOT, PORTHOLE_WEB_ROOT,
// PORTHOLE_TEST_VERBOSE=1. Run inside tests/netns-run.sh. The page is
// loaded from the cloud under test (Chromium's Local Network Access check:
// FACTS.md); the robot's API allows that origin (--api-allowed-origins).

import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  freePort, getJson, launchBrowser, runScenarios, startCloud, startProcess, waitFor,
} from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CLOUD_BIN = process.env.PORTHOLE_CLOUD;
const ROBOT_BIN = process.env.PORTHOLE_ROBOT;
const WEB_ROOT = resolve(process.env.PORTHOLE_WEB_ROOT || join(here, '../../web'));
const ROBOT_ID = 'whep-bot';
const TOTAL_MS = 240000;

if (!CLOUD_BIN || !ROBOT_BIN) {
  console.error('whep: FAIL: PORTHOLE_CLOUD and PORTHOLE_ROBOT must name the binaries');
  process.exit(1);
}
setTimeout(() => {
  console.error(`whep: FAIL: the whole run took more than ${TOTAL_MS} ms`);
  process.exit(1);
}, TOTAL_MS).unref();

/**
 * In the page: a WHEP session with a plain RTCPeerConnection. Posts the
 * offer to url (with or without trickle), applies the answer, PATCHes
 * the candidates when trickling, and waits for decoded frames. Returns
 * what the test checks; the peer connection stays on window.whep.
 */
async function whepInPage({ url, trickle, nvideo, channel }) {
  const pc = new RTCPeerConnection();
  for (let i = 0; i < nvideo; i++) pc.addTransceiver('video', { direction: 'recvonly' });
  let telemetry = null;
  if (channel) {
    pc.createDataChannel('probe');
    pc.ondatachannel = (e) => {
      e.channel.onmessage = (m) => { telemetry ??= { label: e.channel.label, text: String(m.data) }; };
    };
  }
  const pending = [];
  let location = null;
  let patches = 0;
  const patchStatuses = [];
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const ufrag = /a=ice-ufrag:(.*)\r\n/.exec(offer.sdp)[1];
  const pwd = /a=ice-pwd:(.*)\r\n/.exec(offer.sdp)[1];
  const mid = pc.getTransceivers()[0].mid;
  const frag = (cands, end) => `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\n`
    + `m=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:${mid}\r\n`
    + cands.map((c) => `a=${c}\r\n`).join('') + (end ? 'a=end-of-candidates\r\n' : '');
  const patch = async (cands, end) => {
    patches++;
    const r = await fetch(location, { method: 'PATCH',
      headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' }, body: frag(cands, end) });
    patchStatuses.push(r.status);
  };
  if (trickle) {
    pc.onicecandidate = (e) => {
      const c = e.candidate ? [e.candidate.candidate] : [];
      if (!location) pending.push(...c);
      else patch(c, !e.candidate);
    };
  } else if (pc.iceGatheringState !== 'complete') {
    await new Promise((r) => pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') r();
    }));
  }
  const sdp = trickle ? offer.sdp : pc.localDescription.sdp;
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' },
    body: sdp });
  const body = await res.text();
  if (res.status !== 201) return { status: res.status, body };
  location = new URL(res.headers.get('Location'), url).href;
  const out = { status: res.status, type: res.headers.get('Content-Type'),
    etag: res.headers.get('ETag'), location, offerHadCandidates: /a=candidate/.test(sdp) };
  await pc.setRemoteDescription({ type: 'answer', sdp: body });
  if (trickle && pending.length) await patch(pending.splice(0), pc.iceGatheringState === 'complete');
  const t0 = performance.now();
  let frames = 0;
  while (performance.now() - t0 < 20000 && (frames === 0 || (channel && !telemetry))) {
    await new Promise((r) => setTimeout(r, 100));
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames = Math.max(frames, s.framesDecoded || 0);
    });
  }
  window.whep = { pc, location };
  return { ...out, frames, patches, patchStatuses, state: pc.connectionState, telemetry };
}

/**
 * In the page, on the session whepInPage left on window.whep: an ICE
 * restart as WHEP does it. A new offer with new ICE credentials, PATCHed
 * with If-Match: * (no candidates yet); the robot's fragment (its new
 * credentials and candidates) goes into the remote description; our new
 * candidates follow with the new ETag. The video must go on, over the new
 * credentials.
 */
async function restartInPage() {
  const { pc, location } = window.whep;
  const frames = async () => {
    let n = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') n = Math.max(n, s.framesDecoded || 0);
    });
    return n;
  };
  const before = await frames();
  let etag = null;
  const pending = [];
  pc.onicecandidate = (e) => { if (e.candidate) pending.push(e.candidate.candidate); };
  pc.restartIce();
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  const ufrag = /a=ice-ufrag:(.*)\r\n/.exec(offer.sdp)[1];
  const pwd = /a=ice-pwd:(.*)\r\n/.exec(offer.sdp)[1];
  const mid = pc.getTransceivers()[0].mid;
  const head = `a=ice-ufrag:${ufrag}\r\na=ice-pwd:${pwd}\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:${mid}\r\n`;
  const res = await fetch(location, { method: 'PATCH', body: head,
    headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': '*' } });
  const frag = await res.text();
  if (res.status !== 200) return { status: res.status, frag };
  etag = res.headers.get('ETag');
  const theirs = /a=ice-ufrag:(.*)\r\n/.exec(frag)[1];
  const theirPwd = /a=ice-pwd:(.*)\r\n/.exec(frag)[1];
  const cands = [...frag.matchAll(/^(a=candidate:.*)\r\n/gm)].map((m) => `${m[1]}\r\n`).join('');
  const sdp = pc.remoteDescription.sdp
    .replace(/a=ice-ufrag:.*\r\n/g, `a=ice-ufrag:${theirs}\r\n`)
    .replace(/a=ice-pwd:.*\r\n/g, `a=ice-pwd:${theirPwd}\r\n`)
    .replace(/a=candidate:.*\r\n/g, '').replace(/a=end-of-candidates\r\n/g, '')
    .replace(/(m=.*\r\n)/, `$1${cands}a=end-of-candidates\r\n`);
  await pc.setRemoteDescription({ type: 'answer', sdp });
  await new Promise((r) => setTimeout(r, 300)); // our new candidates gather
  const trickled = await fetch(location, { method: 'PATCH',
    headers: { 'Content-Type': 'application/trickle-ice-sdpfrag', 'If-Match': etag },
    body: head + pending.map((c) => `a=${c}\r\n`).join('') });
  const t0 = performance.now();
  let after = before;
  let localUfrag = null;
  while (performance.now() - t0 < 15000) {
    await new Promise((r) => setTimeout(r, 200));
    after = await frames();
    (await pc.getStats()).forEach((st) => {
      if (st.type === 'transport') localUfrag = st.iceLocalUsernameFragment ?? localUfrag;
    });
    if (after > before + 30 && pc.connectionState === 'connected' && localUfrag === ufrag) break;
  }
  return { status: res.status, type: res.headers.get('Content-Type'), etag, trickled: trickled.status,
    theirs, before, after, state: pc.connectionState, localUfrag, ufrag };
}

let cloudPort;
let apiPort;
let browser;
let page;

async function robotSessions() {
  return getJson(apiPort, '/api/webrtc/sessions');
}

/** One WHEP session at url; checks video, then DELETE ends it on the robot. */
async function oneSession(url, trickle, nvideo = 1, nstreams = nvideo, channel = false) {
  const r = await page.evaluate(whepInPage, { url, trickle, nvideo, channel });
  assert.equal(r.status, 201, `POST ${url}: ${r.status} ${r.body || ''}`);
  assert.match(r.type, /^application\/sdp/);
  assert.ok(r.etag, 'an ETag');
  assert.ok(r.frames > 0, `decoded frames (state ${r.state})`);
  assert.equal(r.offerHadCandidates, !trickle);
  if (channel) {
    assert.equal(r.telemetry?.label, 'telemetry', 'the robot opened its telemetry channel');
    assert.ok(JSON.parse(r.telemetry.text), 'telemetry is JSON');
  }
  if (trickle) {
    assert.ok(r.patches > 0, 'candidates were PATCHed');
    assert.ok(r.patchStatuses.every((s) => s === 204), `PATCH statuses ${r.patchStatuses}`);
  }
  const id = r.location.split('/').pop();
  const before = await robotSessions();
  const s = before.find((x) => x.session_id === id);
  assert.ok(s, `session ${id} is on the robot`);
  assert.equal(s.stats.origin, 'whep');
  assert.equal(s.stream_types.length, nstreams);
  const del = await page.evaluate(async () => {
    const res = await fetch(window.whep.location, { method: 'DELETE' });
    window.whep.pc.close();
    return res.status;
  });
  assert.equal(del, 200);
  await waitFor(async () => !(await robotSessions()).some((x) => x.session_id === id), 5000,
    `session ${id} to be gone from the robot`);
}

const cloudUrl = (q = '') => `http://127.0.0.1:${cloudPort}/api/robots/${ROBOT_ID}/whep${q}`;
const robotUrl = (q = '') => `http://127.0.0.1:${apiPort}/api/whep${q}`;

const scenarios = [
  { name: 'whep.setup', async run() {
    cloudPort = await freePort();
    apiPort = await freePort();
    await startCloud({ bin: CLOUD_BIN, port: cloudPort, webRoot: WEB_ROOT });
    const robot = startProcess('robot', ROBOT_BIN, ['--cloud-url', `ws://127.0.0.1:${cloudPort}/ws`,
      '--robot-id', ROBOT_ID, '--ice-allow', '127.0.0.1', '--log-level', 'info',
      '--api-port', String(apiPort), '--api-allowed-origins', `http://127.0.0.1:${cloudPort}`]);
    await waitFor(async () => {
      if (!robot.running()) throw new Error(`porthole-robot exited:\n${robot.log()}`);
      return (await getJson(cloudPort, '/robots')).some((x) => x.robotId === ROBOT_ID);
    }, 15000, 'the robot to register');
    browser = await launchBrowser();
    page = await browser.newPage(`http://127.0.0.1:${cloudPort}/health`);
  } },
  { name: 'whep.robot.trickle', run: () => oneSession(robotUrl('?streams=color'), true) },
  { name: 'whep.robot.no-trickle', run: () => oneSession(robotUrl(), false) },
  { name: 'whep.cloud.trickle', run: () => oneSession(cloudUrl('?streams=color'), true) },
  { name: 'whep.cloud.no-trickle', run: () => oneSession(cloudUrl(), false) },
  { name: 'whep.cloud.two-streams', run: () => oneSession(cloudUrl('?streams=color,depth'), true, 2) },
  // A player that offers more video m-lines than streams asked for: the
  // extra ones are answered without media.
  { name: 'whep.cloud.extra-m-line', run: () => oneSession(cloudUrl(), false, 2, 1) },
  // An ICE restart (PATCH with new credentials and If-Match: *) keeps the
  // session and its video.
  { name: 'whep.cloud.ice-restart', async run() {
    const r0 = await page.evaluate(whepInPage, { url: cloudUrl(), trickle: true, nvideo: 1 });
    assert.equal(r0.status, 201);
    assert.ok(r0.frames > 0);
    const r = await page.evaluate(restartInPage);
    assert.equal(r.status, 200, `restart PATCH: ${r.status} ${r.frag || ''}`);
    assert.match(r.type, /^application\/trickle-ice-sdpfrag/);
    assert.ok(r.etag && r.etag !== r0.etag, 'a new ETag');
    assert.equal(r.trickled, 204);
    assert.equal(r.localUfrag, r.ufrag, 'ICE runs on the new credentials');
    assert.ok(r.after > r.before + 30, `frames went on after the restart (${r.before} -> ${r.after})`);
    assert.equal(r.state, 'connected');
    const del = await page.evaluate(async () => (await fetch(window.whep.location, { method: 'DELETE' })).status);
    assert.equal(del, 200);
    await page.evaluate(() => window.whep.pc.close());
  } },
  // A player that offers a data channel gets the robot's telemetry on it.
  { name: 'whep.cloud.telemetry', run: () => oneSession(cloudUrl(), true, 1, 1, true) },
  { name: 'whep.options', async run() {
    const r = await page.evaluate(async (url) => {
      const res = await fetch(url, { method: 'OPTIONS' });
      return { status: res.status, accept: res.headers.get('Accept-Post') };
    }, cloudUrl());
    assert.equal(r.status, 204);
    assert.match(r.accept || '', /application\/sdp/);
  } },
  { name: 'whep.teardown', async run() { await browser?.close(); } },
];

const failed = await runScenarios(scenarios, process.argv.slice(2), { chained: true });
process.exit(failed ? 1 : 0);
