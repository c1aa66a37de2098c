// run.mjs - browser tests of the web viewer (web/): headless Debian chromium
// driven by playwright-core against the real porthole-cloud, with the real
// porthole-robot for the video scenarios and a signaling-only fake robot
// (fakerobot.mjs) for the UI ones; the sign-in scenarios (`auth`, auth.mjs)
// use the real cloud with --auth-secret.
//
//   node tests/browser/run.mjs [scenario or group ...]    e.g. `ui`, `video.switch`, `auth`
//
// Environment: PORTHOLE_CLOUD, PORTHOLE_ROBOT (binaries; PORTHOLE_ROBOT=page
// uses the in-browser stand-in of pagerobot.mjs), PORTHOLE_WEB_ROOT,
// PORTHOLE_ARTIFACTS (screenshots; default ./test-artifacts),
// PORTHOLE_DOCS_SCREENSHOT (a path: also save the viewer screenshot there),
// PORTHOLE_DOCS_SIGNIN_SCREENSHOT (the same for the sign-in panel),
// PORTHOLE_TEST_VERBOSE=1 (echo process and page logs). Run it inside
// tests/netns-run.sh so nothing leaves loopback. Exits 0 when every selected
// scenario passed.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { authGroup } from './auth.mjs';
import { FakeRobot } from './fakerobot.mjs';
import {
  artifactsDir, freePort, getJson, launchBrowser, runScenarios, sleep, startCloud, startRobot, waitFor,
} from './harness.mjs';
import { startPageRobot } from './pagerobot.mjs';
import { colorToDepth } from '../../web/colormap.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLOUD_BIN = process.env.PORTHOLE_CLOUD;
const ROBOT_BIN = process.env.PORTHOLE_ROBOT;
const WEB_ROOT = resolve(process.env.PORTHOLE_WEB_ROOT || join(here, '../../web'));
const ARTIFACTS = artifactsDir();
const only = process.argv.slice(2);
const TOTAL_MS = 280000;

if (!CLOUD_BIN) {
  console.error('browser: FAIL: PORTHOLE_CLOUD is not set (path of porthole-cloud)');
  process.exit(1);
}
const watchdog = setTimeout(() => {
  console.error(`browser: FAIL: the whole run took more than ${TOTAL_MS} ms`);
  process.exit(1);
}, TOTAL_MS);
watchdog.unref();

// --- page helpers --------------------------------------------------------------

const row = (page, id) => page.locator(`#robot-list li[data-robot-id="${id}"]`);
const tile = (page, id) => page.locator(`#grid .tile[data-robot-id="${id}"]`);
/** One option's row in the options panel of robot id's tile. */
const optRow = (page, id, sensorId, optionId) => tile(page, id)
  .locator(`.options .sensor[data-sensor-id="${sensorId}"] .opt[data-option-id="${optionId}"]`);

async function shot(page, name) {
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path }).catch(() => {});
  return path;
}

/** Frames decoded so far, the video size and the session state of robot id's tile. */
function videoState(page, id) {
  return page.evaluate(async (rid) => {
    const t = window.portholeViewer?.tiles.get(rid);
    const pc = t?.session?.peerConnection;
    if (!t || !pc) return null;
    let frames = 0;
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames = Math.max(frames, s.framesDecoded || 0);
    });
    return { frames, width: t.video.videoWidth, height: t.video.videoHeight, state: t.session.state,
      signaling: t.session.signaling, streamTypes: t.session.streamTypes };
  }, id);
}

/** Waits until the decoded frame count of robot id's video grows by `by`. */
async function expectFlowing(page, id, what, by = 15, ms = 8000) {
  const first = await waitFor(() => videoState(page, id), ms, `${what}: a peer connection`);
  await waitFor(async () => {
    const s = await videoState(page, id);
    return s && s.frames >= first.frames + by;
  }, ms, `${what}: framesDecoded to grow by ${by} (from ${first.frames})`);
  return videoState(page, id);
}

/** Clicks Watch on robot id with the stream picked in its row. */
async function watch(page, id, stream = 'color') {
  await row(page, id).locator('select.robot-stream').selectOption(stream);
  await row(page, id).locator('button.watch').click();
  await waitFor(async () => (await tile(page, id).getAttribute('data-state')) === 'connected', 10000,
    `${id}: session state 'connected'`);
}

/** RGB samples on a 32x24 grid of the frame on show, below the marker row. */
function samplePixels(page, id) {
  return page.evaluate((rid) => {
    const v = window.portholeViewer.tiles.get(rid).video;
    const c = document.createElement('canvas');
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    const ctx = c.getContext('2d', { willReadFrequently: true });
    ctx.drawImage(v, 0, 0);
    const { data } = ctx.getImageData(0, 0, c.width, c.height);
    const out = [];
    for (let gy = 0; gy < 24; gy++) {
      for (let gx = 0; gx < 32; gx++) {
        const x = Math.floor(((gx + 0.5) * c.width) / 32);
        const y = Math.floor(c.height / 8 + ((gy + 0.5) * (c.height * 7 / 8)) / 24);
        const o = (y * c.width + x) * 4;
        out.push([data[o], data[o + 1], data[o + 2]]);
      }
    }
    return out;
  }, id);
}

/** Depth pictures are the jet colormap: mostly saturated colours on the ramp. */
function assertDepthPicture(px) {
  const lit = px.filter(([r, g, b]) => r + g + b >= 60);
  assert.ok(lit.length >= px.length * 0.3, `depth: only ${lit.length}/${px.length} samples are not black`);
  const saturated = lit.filter(([r, g, b]) => Math.max(r, g, b) - Math.min(r, g, b) >= 100);
  assert.ok(saturated.length >= lit.length * 0.6,
    `depth: only ${saturated.length}/${lit.length} lit samples are saturated (a colormap is)`);
  const onRamp = lit.filter(([r, g, b]) => !Number.isNaN(colorToDepth(r, g, b, 90)));
  assert.ok(onRamp.length >= lit.length * 0.7, `depth: only ${onRamp.length}/${lit.length} samples are jet colours`);
}

/** Infrared pictures are gray: r = g = b up to coding noise, and not black. */
function assertGrayPicture(px) {
  const gray = px.filter(([r, g, b]) => Math.abs(r - g) <= 16 && Math.abs(g - b) <= 16 && Math.abs(r - b) <= 16);
  assert.ok(gray.length >= px.length * 0.95, `infrared: only ${gray.length}/${px.length} samples are gray`);
  const mean = px.reduce((a, [r, g, b]) => a + (r + g + b) / 3, 0) / px.length;
  assert.ok(mean > 8, `infrared: the picture is black (mean ${mean.toFixed(1)})`);
}

// --- the camera options panel ----------------------------------------------------

/** What the options panel of robot id's tile shows, read in one go. */
function panelState(page, id) {
  return page.evaluate((rid) => {
    const p = document.querySelector(`#grid .tile[data-robot-id="${CSS.escape(rid)}"] .options`);
    if (!p) return null;
    return {
      open: !p.hidden,
      expanded: p.closest('.tile').querySelector('.options-toggle').getAttribute('aria-expanded'),
      status: p.querySelector('.options-status').textContent,
      sensors: [...p.querySelectorAll('.sensor')].map((s) => ({
        id: s.dataset.sensorId,
        name: s.querySelector('legend').textContent,
        options: [...s.querySelectorAll('.opt')].map((o) => {
          const input = o.querySelector('.opt-range, .opt-check');
          const num = o.querySelector('.opt-number');
          const msg = o.querySelector('.opt-msg');
          const label = o.querySelector('.opt-name');
          return {
            id: o.dataset.optionId,
            name: label.textContent,
            labelled: label.control === input,
            kind: o.dataset.kind,
            value: o.dataset.kind === 'bool' ? (input.checked ? 1 : 0) : Number(num.value),
            slider: o.dataset.kind === 'range' ? Number(input.value) : null,
            units: o.querySelector('.opt-units')?.textContent ?? '',
            disabled: input.disabled,
            msg: msg.hidden ? '' : msg.textContent,
            busy: o.getAttribute('aria-busy') === 'true',
          };
        }),
      })),
    };
  }, id);
}

/** The panel the fake robot's camera should produce, in panelState()'s terms. */
function expectedPanel(f) {
  return f.sensors.map((s) => ({
    id: s.sensor_id,
    name: s.name,
    options: s.options.map((o) => {
      const bool = o.min_value === 0 && o.max_value === 1 && o.step === 1;
      return { id: o.option_id, name: o.name, labelled: true, kind: bool ? 'bool' : 'range', value: o.current_value,
        units: bool ? '' : o.units, disabled: o.read_only };
    }),
  }));
}

/** panelState() cut down to expectedPanel()'s fields. */
function shownPanel(st) {
  return st.sensors.map((s) => ({
    id: s.id, name: s.name,
    options: s.options.map(({ id, name, labelled, kind, value, units, disabled }) => ({ id, name, labelled, kind, value, units, disabled })),
  }));
}

/** The option as panelState() shows it. */
async function shownOption(page, id, sensorId, optionId) {
  const st = await panelState(page, id);
  return st?.sensors.find((s) => s.id === sensorId)?.options.find((o) => o.id === optionId);
}

/** Waits until the option shows value with no request in flight; returns it. */
function settled(page, id, sensorId, optionId, value, what) {
  return waitFor(async () => {
    const o = await shownOption(page, id, sensorId, optionId);
    return o && !o.busy && o.value === value ? o : null;
  }, 5000, `${what}: ${optionId} shows ${value}`);
}

/** The PUTs a fake robot received, without their timing. */
const putsOf = (f) => f.requests.filter((r) => r.method === 'PUT').map(({ method, path, body }) => ({ method, path, body }));
const optionPath = (f, sensor, option) => `/api/devices/${f.serial}/sensors/${f.serial}-sensor-${sensor}/options/${option}`;

/** Watches robot id, opens its options panel and waits until it lists the camera's sensors. */
async function openOptions(page, id) {
  await row(page, id).waitFor({ timeout: 2000 });
  await row(page, id).locator('button.watch').click();
  await tile(page, id).waitFor({ timeout: 2000 });
  await tile(page, id).locator('button.options-toggle').click();
  return waitFor(async () => {
    const st = await panelState(page, id);
    return st && st.open && st.sensors.length === 2 && st.status === '' ? st : null;
  }, 5000, `${id}: the options panel lists two sensors`);
}

// --- a small static server: the viewer hosted away from the cloud -------------

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
async function startStatic(port) {
  const srv = createServer(async (req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    const file = join(WEB_ROOT, p.endsWith('/') ? `${p}index.html` : p);
    if (!file.startsWith(WEB_ROOT)) { res.writeHead(404).end(); return; }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] || 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => srv.listen(port, '127.0.0.1', r));
  return srv;
}

// --- the UI scenarios: real cloud, fake robots, no video -------------------------

async function uiGroup() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const wsUrl = `ws://127.0.0.1:${port}/ws`;
  let cloud = await startCloud({ bin: CLOUD_BIN, port, webRoot: WEB_ROOT });
  const browser = await launchBrowser();
  const fakes = [];
  const fake = async (id, mode, opts = {}) => {
    const f = await new FakeRobot(wsUrl, id, { mode, ...opts }).start();
    fakes.push(f);
    return f;
  };
  const scenarios = [
    { name: 'ui.list', async run() {
      await fake('fake-1', 'error');
      const t0 = Date.now();
      const page = await browser.newPage(url);
      await row(page, 'fake-1').waitFor({ timeout: 2000 });
      const took = Date.now() - t0;
      assert.equal(await row(page, 'fake-1').getAttribute('data-online'), 'true');
      const text = await row(page, 'fake-1').innerText();
      for (const want of ['Intel RealSense D435 (fake)', 'fake-1', '000000000042', 'depth', 'infrared-2']) {
        assert.ok(text.includes(want), `the robot row shows '${want}': ${JSON.stringify(text)}`);
      }
      // A robot that arrives later appears without a reload.
      await fake('fake-2', 'error');
      await row(page, 'fake-2').waitFor({ timeout: 2000 });
      assert.equal(await page.locator('#cloud-status').getAttribute('data-state'), 'open');
      console.log(`     listed in ${took} ms`);
      await shot(page, 'ui-list');
      await page.close();
    } },
    { name: 'ui.session-error', async run() {
      const page = await browser.newPage(url);
      await row(page, 'fake-1').locator('button.watch').click();
      const msg = tile(page, 'fake-1').locator('.message');
      await msg.waitFor({ state: 'visible', timeout: 5000 });
      const text = await msg.innerText();
      assert.ok(text.includes('camera unavailable (simulated)'), `the robot's error is shown: ${JSON.stringify(text)}`);
      await shot(page, 'ui-session-error');
      // Close removes the tile; the robot can be watched again.
      await tile(page, 'fake-1').locator('button.dismiss').click();
      assert.equal(await tile(page, 'fake-1').count(), 0);
      assert.equal(await row(page, 'fake-1').locator('button.watch').innerText(), 'Watch');
      await page.close();
    } },
    { name: 'ui.bad-offer', async run() {
      await fake('fake-bad', 'bad-sdp');
      const page = await browser.newPage(url);
      await row(page, 'fake-bad').locator('button.watch').click();
      const msg = tile(page, 'fake-bad').locator('.message');
      await msg.waitFor({ state: 'visible', timeout: 5000 });
      const text = await msg.innerText();
      assert.match(text, /offer/i, `an unusable offer is reported: ${JSON.stringify(text)}`);
      assert.equal(await page.locator('#cloud-status').getAttribute('data-state'), 'open', 'the cloud connection survives');
      await page.close();
    } },
    { name: 'ui.robot-offline', async run() {
      const f = await fake('fake-gone', 'silent');
      const page = await browser.newPage(url);
      await row(page, 'fake-gone').waitFor({ timeout: 2000 });
      await row(page, 'fake-gone').locator('button.watch').click();
      await tile(page, 'fake-gone').waitFor({ timeout: 2000 });
      await f.stop();
      await waitFor(async () => (await row(page, 'fake-gone').getAttribute('data-online')) === 'false', 3000,
        'the robot row marked offline');
      assert.match(await row(page, 'fake-gone').innerText(), /offline/);
      assert.equal(await row(page, 'fake-gone').locator('button.watch').isDisabled(), true, 'Watch is disabled');
      const msg = tile(page, 'fake-gone').locator('.message');
      await msg.waitFor({ state: 'visible', timeout: 3000 });
      assert.match(await msg.innerText(), /offline/i);
      await shot(page, 'ui-robot-offline');
      await page.close();
    } },
    { name: 'ui.no-webrtc', async run() {
      const page = await browser.context.newPage();
      await page.addInitScript(() => { delete window.RTCPeerConnection; delete window.webkitRTCPeerConnection; });
      await page.goto(url);
      const banner = page.locator('#banner');
      await banner.waitFor({ state: 'visible', timeout: 2000 });
      assert.match(await banner.innerText(), /does not support WebRTC/);
      await row(page, 'fake-1').waitFor({ timeout: 2000 });
      assert.equal(await row(page, 'fake-1').locator('button.watch').isDisabled(), true);
      await shot(page, 'ui-no-webrtc');
      await page.close();
    } },
    { name: 'ui.hosted-elsewhere', async run() {
      const sport = await freePort();
      const srv = await startStatic(sport);
      try {
        const page = await browser.newPage(`http://127.0.0.1:${sport}/?cloud=${encodeURIComponent(wsUrl)}`);
        await row(page, 'fake-1').waitFor({ timeout: 2000 });
        assert.equal(await page.locator('#cloud-url').innerText(), wsUrl);
        await page.close();
        const bad = await browser.newPage(`http://127.0.0.1:${sport}/?cloud=ftp://nowhere`);
        await bad.locator('#banner').waitFor({ state: 'visible', timeout: 2000 });
        assert.match(await bad.locator('#banner').innerText(), /cloud/i);
        await bad.close();
      } finally {
        srv.close();
      }
    } },
    { name: 'ui.request-sdk', async run() {
      // cloud.request() against a scripted cloud inside the page: ids, answers, junk, timeouts, loss.
      const page = await browser.newPage(url);
      const r = await page.evaluate(async () => {
        const { connect } = await import('/porthole.js');
        class FakeWS {
          constructor(u) {
            this.url = u;
            this.readyState = 0;
            this.sent = [];
            FakeWS.last = this;
            setTimeout(() => { this.readyState = 1; this.onopen?.(); }, 0);
          }
          send(d) {
            const m = JSON.parse(d);
            this.sent.push(m);
            if (m.type === 'client-register') {
              setTimeout(() => this.deliver({ type: 'available-robots', clientId: 'c1', robots: [{ robotId: 'r1', deviceInfo: { serial: '1' } }] }), 0);
            }
          }
          deliver(m) { this.onmessage?.({ data: JSON.stringify(m) }); }
          close(code) { this.readyState = 3; setTimeout(() => this.onclose?.({ code: code || 1000 }), 0); }
        }
        const settle = (p) => p.then((v) => ({ value: v }),
          (e) => ({ error: { name: e.name, code: e.code, message: e.message, isError: e instanceof Error } }));
        const cloud = connect('ws://cloud.invalid/ws', { WebSocket: FakeWS, reconnect: false });
        const errors = [];
        cloud.on('error', (e) => errors.push(`${e.code}: ${e.message}`));
        await new Promise((res) => cloud.once('robots', res));
        const ws = FakeWS.last;
        const requests = () => ws.sent.filter((m) => m.type === 'robot-request');
        const out = {};
        const p1 = settle(cloud.request('r1', 'get', '/api/devices/'));
        const p2 = settle(cloud.request('r1', 'PUT', '/api/devices/1/sensors/1-sensor-0/options/exposure', { value: 8000 }));
        out.sent = requests().slice();
        const [m1, m2] = out.sent;
        ws.deliver({ type: 'robot-response', requestId: 'q-unknown', robotId: 'r1', status: 200, body: 1 });
        ws.deliver({ type: 'robot-response', robotId: 'r1', status: 200, body: 1 });
        ws.deliver({ type: 'robot-response', requestId: m2.requestId, robotId: 'r1', status: 422, body: { detail: 'too big' } });
        ws.deliver({ type: 'robot-response', requestId: m1.requestId, robotId: 'r1', status: 200 });
        out.r1 = await p1;
        out.r2 = await p2;
        ws.deliver({ type: 'robot-response', requestId: m1.requestId, robotId: 'r1', status: 200, body: [] });
        const p3 = settle(cloud.request('r1', 'GET', '/api/a'));
        ws.deliver({ type: 'robot-response', requestId: requests().at(-1).requestId, robotId: 'r1', status: '200', body: {} });
        out.r3 = await p3;
        const p3b = settle(cloud.request('r1', 'GET', '/api/b'));
        ws.deliver({ type: 'robot-response', requestId: requests().at(-1).requestId, robotId: 'r2', status: 200, body: {} });
        out.r3b = await p3b;
        const p4 = settle(cloud.request('r1', 'GET', '/api/c'));
        ws.deliver({ type: 'error', code: 'invalid-field', message: "robot-request: 'path' is invalid", requestType: 'robot-request',
          requestId: requests().at(-1).requestId });
        out.r4 = await p4;
        out.r5 = await settle(cloud.request('r1', 'GET', '/api/slow', undefined, { timeoutMs: 50 }));
        const before = ws.sent.length;
        out.bad = await Promise.all([
          cloud.request('r1', 'PATCH', '/api/x'), cloud.request('r1', 'GET', '/x'), cloud.request('r1', 'GET', '/api/a b'),
          cloud.request('bad id', 'GET', '/api/x'), cloud.request('r1', 'PUT', '/api/x', { n: 1n }),
          cloud.request('r1', 'PUT', '/api/x', 'x'.repeat(70000)),
        ].map(settle));
        out.sentForBad = ws.sent.length - before;
        const p6 = settle(cloud.request('r1', 'GET', '/api/pending'));
        const ids = requests().map((m) => m.requestId);
        out.unique = new Set(ids).size === ids.length;
        ws.close(1006);
        out.r6 = await p6;
        out.r7 = await settle(cloud.request('r1', 'GET', '/api/after'));
        out.errors = errors;
        cloud.close();
        return out;
      });
      assert.deepEqual(r.sent.map(({ requestId, ...m }) => m), [
        { type: 'robot-request', robotId: 'r1', method: 'GET', path: '/api/devices/' },
        { type: 'robot-request', robotId: 'r1', method: 'PUT', path: '/api/devices/1/sensors/1-sensor-0/options/exposure', body: { value: 8000 } },
      ], 'the wire messages (method upper-cased, no body for GET)');
      assert.ok(r.unique, 'requestIds are unique on the connection');
      assert.deepEqual(r.r1, { value: { status: 200, body: null, ok: true } }, 'an answer without a body resolves with body null');
      assert.deepEqual(r.r2, { value: { status: 422, body: { detail: 'too big' }, ok: false } }, 'an error status resolves, not rejects');
      assert.equal(r.r3.error?.code, 'protocol', `a malformed status rejects: ${JSON.stringify(r.r3)}`);
      assert.equal(r.r3b.error?.code, 'protocol', `another robot's answer rejects: ${JSON.stringify(r.r3b)}`);
      assert.equal(r.r4.error?.code, 'cloud-error', `the cloud refusing the request rejects: ${JSON.stringify(r.r4)}`);
      assert.match(r.r4.error.message, /'path' is invalid/);
      assert.equal(r.r5.error?.code, 'timeout');
      assert.equal(r.r5.error.name, 'PortholeError');
      assert.ok(r.r5.error.isError, 'rejections are Errors');
      assert.equal(r.r5.error.message, 'GET /api/slow to r1: no answer within 50 ms');
      for (const b of r.bad) assert.equal(b.error?.code, 'invalid-argument', `invalid arguments reject: ${JSON.stringify(b)}`);
      assert.equal(r.sentForBad, 0, 'nothing is sent for invalid arguments');
      assert.equal(r.r6.error?.code, 'cloud-unreachable', `a pending request is rejected when the connection closes: ${JSON.stringify(r.r6)}`);
      assert.match(r.r6.error.message, /GET \/api\/pending to r1: the cloud connection was lost/);
      assert.equal(r.r7.error?.code, 'cloud-unreachable', 'a request without a connection rejects at once');
      const flagged = r.errors.filter((e) => e.startsWith('protocol: '));
      assert.equal(flagged.filter((e) => /no request waiting/.test(e)).length, 3,
        `unknown, missing and repeated requestIds are flagged: ${JSON.stringify(r.errors)}`);
      assert.equal(flagged.length, 5, `and the two malformed answers: ${JSON.stringify(r.errors)}`);
      await page.close();
    } },
    { name: 'ui.quickstart', async run() {
      // docs/VIEWER.md's SDK quick start as written: connect(url), then openSession() at once,
      // before the cloud is open; the SDK holds the request until it has registered.
      await fake('fake-quick', 'silent');
      const page = await browser.newPage(url);
      const r = await page.evaluate(async (ws) => {
        const { connect } = await import('/porthole.js');
        const cloud = connect(ws);
        const stateAtOpen = cloud.state;
        const session = cloud.openSession('fake-quick', { streamTypes: ['color'] });
        const states = [];
        session.on('state', ({ state }) => states.push(state));
        await new Promise((res) => {
          const t = setInterval(() => { if (session.id || session.state === 'closed') { clearInterval(t); res(); } }, 20);
        });
        const out = { stateAtOpen, cloudState: cloud.state, id: session.id, state: session.state, states,
          error: session.error?.message ?? null };
        session.close();
        cloud.close();
        return out;
      }, wsUrl);
      assert.equal(r.stateAtOpen, 'connecting', 'openSession was called before the cloud was open');
      assert.match(r.id || '', /^[A-Za-z0-9_-]{22}$/, `the session was created: ${JSON.stringify(r)}`);
      assert.equal(r.state, 'negotiating', 'and waits for the robot\'s offer');
      assert.equal(r.error, null);
      await page.close();
    } },
    { name: 'ui.options', async run() {
      // Two robots side by side, each with its own camera serial: each panel talks to its own robot.
      const a = await fake('fake-opt-a', 'silent');
      const b = await fake('fake-opt-b', 'silent', { serial: '000000000043' });
      const page = await browser.newPage(url);
      for (const f of [a, b]) {
        const st = await openOptions(page, f.robotId);
        assert.equal(st.expanded, 'true', 'the toggle says the panel is expanded');
        assert.deepEqual(shownPanel(st), expectedPanel(f), `${f.robotId}: every option of both sensors with its current value`);
        assert.deepEqual(f.requests.map(({ method, path, body }) => ({ method, path, body })),
          [{ method: 'GET', path: `/api/devices/${f.serial}/sensors/`, body: null }], `${f.robotId}: the panel read the sensors once`);
      }
      assert.equal(await optRow(page, 'fake-opt-a', `${a.serial}-sensor-0`, 'asic_temperature').locator('.opt-reset').isDisabled(), true,
        'a read-only option cannot be reset');
      await shot(page, 'ui-options');

      // Type a value: exactly one PUT {"value": x} on that option's path, and the panel shows the robot's answer.
      const exposure = optRow(page, 'fake-opt-a', `${a.serial}-sensor-0`, 'exposure');
      await exposure.locator('.opt-number').fill('9000');
      await exposure.locator('.opt-number').press('Enter');
      const shown = await settled(page, 'fake-opt-a', `${a.serial}-sensor-0`, 'exposure', 9000, 'typed');
      assert.equal(shown.slider, 9000, 'the slider moved with it');
      assert.equal(a.option('exposure').current_value, 9000);
      await sleep(300);
      assert.deepEqual(putsOf(a), [{ method: 'PUT', path: optionPath(a, 0, 'exposure'), body: { value: 9000 } }], 'exactly one PUT');
      assert.deepEqual(putsOf(b), [], 'nothing went to the other robot');

      // A checkbox for an on/off option, on the other tile.
      await optRow(page, 'fake-opt-b', `${b.serial}-sensor-0`, 'emitter_enabled').locator('input[type=checkbox]').click();
      await settled(page, 'fake-opt-b', `${b.serial}-sensor-0`, 'emitter_enabled', 0, 'checkbox');
      assert.deepEqual(putsOf(b), [{ method: 'PUT', path: optionPath(b, 0, 'emitter_enabled'), body: { value: 0 } }]);

      // The keyboard: an arrow key on a slider moves it one step.
      await optRow(page, 'fake-opt-a', `${a.serial}-sensor-0`, 'laser_power').locator('input[type=range]').focus();
      await page.keyboard.press('ArrowRight');
      await settled(page, 'fake-opt-a', `${a.serial}-sensor-0`, 'laser_power', 180, 'keyboard');
      assert.deepEqual(putsOf(a).at(-1), { method: 'PUT', path: optionPath(a, 0, 'laser_power'), body: { value: 180 } });
      assert.equal(putsOf(a).length, 2, 'one PUT for one key press');

      // A drag: 40 positions over ~400 ms go out at most every ~100 ms, and the last one always.
      // The spacing is measured where it is made, at the page's WebSocket (the trip through the cloud jitters).
      await page.evaluate(() => {
        window.sentPuts = [];
        const send = WebSocket.prototype.send;
        WebSocket.prototype.send = function recordingSend(data) {
          const m = JSON.parse(data);
          if (m.type === 'robot-request' && m.method === 'PUT') window.sentPuts.push({ at: Date.now(), value: m.body.value });
          return send.call(this, data);
        };
      });
      const n0 = putsOf(a).length;
      const dragMs = await optRow(page, 'fake-opt-a', `${a.serial}-sensor-1`, 'color_gain').locator('input[type=range]').evaluate(async (input) => {
        const t0 = performance.now();
        for (let v = 65; v <= 104; v++) {
          input.value = String(v);
          input.dispatchEvent(new Event('input', { bubbles: true }));
          await new Promise((res) => setTimeout(res, 10));
        }
        input.dispatchEvent(new Event('change', { bubbles: true }));
        return Math.round(performance.now() - t0);
      });
      await settled(page, 'fake-opt-a', `${a.serial}-sensor-1`, 'color_gain', 104, 'drag');
      await sleep(300);
      const drag = a.requests.filter((q) => q.method === 'PUT').slice(n0);
      const values = drag.map((q) => q.body.value);
      const sent = await page.evaluate(() => window.sentPuts);
      const times = sent.map((q) => q.at - sent[0].at);
      assert.deepEqual(sent.map((q) => q.value), values, 'the robot received what the page sent, in order');
      assert.ok(drag.length >= 2 && drag.length <= Math.floor(dragMs / 100) + 2,
        `a ${dragMs} ms drag sent ${drag.length} PUTs: ${values} at ${times} ms`);
      assert.equal(values.at(-1), 104, `the final value is sent last: ${values}`);
      assert.ok(drag.every((q) => q.path === optionPath(a, 1, 'color_gain')), 'on the RGB sensor\'s path');
      for (let i = 1; i < drag.length; i++) {
        assert.ok(values[i] > values[i - 1], `values only go forward: ${values}`);
        assert.ok(times[i] - times[i - 1] >= 95, `PUTs sent ${times[i] - times[i - 1]} ms apart: ${values} at ${times} ms`);
      }
      assert.equal(a.option('color_gain').current_value, 104);

      // Reset to the default.
      await exposure.locator('.opt-reset').click();
      await settled(page, 'fake-opt-a', `${a.serial}-sensor-0`, 'exposure', 8500, 'reset');
      assert.deepEqual(putsOf(a).at(-1), { method: 'PUT', path: optionPath(a, 0, 'exposure'), body: { value: 8500 } });
      assert.equal(await exposure.locator('.opt-reset').isDisabled(), true, 'at its default, reset is disabled');

      // Out of range: the robot's 422 detail shows next to the option, and the value snaps back.
      await exposure.locator('.opt-number').fill('999999');
      await exposure.locator('.opt-number').press('Enter');
      const refused = await waitFor(async () => {
        const o = await shownOption(page, 'fake-opt-a', `${a.serial}-sensor-0`, 'exposure');
        return o && !o.busy && o.msg ? o : null;
      }, 5000, 'the 422 detail next to exposure');
      assert.equal(refused.msg, 'exposure must be between 1 and 165000 (step 1); got 999999');
      assert.equal(refused.value, 8500, 'the robot kept its value, and so does the panel');
      assert.deepEqual(putsOf(a).at(-1), { method: 'PUT', path: optionPath(a, 0, 'exposure'), body: { value: 999999 } });
      await shot(page, 'ui-options-422');
      // A good value clears the message.
      await exposure.locator('.opt-number').fill('100');
      await exposure.locator('.opt-number').press('Enter');
      const ok = await settled(page, 'fake-opt-a', `${a.serial}-sensor-0`, 'exposure', 100, 'after the 422');
      assert.equal(ok.msg, '', 'the error message is gone');

      // O toggles the panel from the tile; Escape inside it closes it and focus returns to the toggle.
      await tile(page, 'fake-opt-b').focus();
      await page.keyboard.press('o');
      assert.equal((await panelState(page, 'fake-opt-b')).open, false, 'O closed the panel');
      await page.keyboard.press('o');
      await waitFor(async () => (await panelState(page, 'fake-opt-b')).sensors.length === 2, 3000, 'O reopened it');
      await optRow(page, 'fake-opt-b', `${b.serial}-sensor-1`, 'contrast').locator('.opt-number').focus();
      await page.keyboard.press('Escape');
      assert.equal((await panelState(page, 'fake-opt-b')).open, false, 'Escape closed the panel');
      assert.equal(await tile(page, 'fake-opt-b').locator('button.options-toggle').evaluate((e) => e === document.activeElement), true,
        'focus is back on the toggle');
      await page.close();
    } },
    { name: 'ui.options-offline', async run() {
      const c = await fake('fake-opt-c', 'silent');
      const page = await browser.newPage(url);
      await openOptions(page, 'fake-opt-c');
      // A change the robot never answers, then the robot goes: the cloud's 503 shows next to the option.
      c.hold = true;
      const gain = optRow(page, 'fake-opt-c', `${c.serial}-sensor-0`, 'gain');
      await gain.locator('.opt-number').fill('20');
      await gain.locator('.opt-number').press('Enter');
      await waitFor(() => c.requests.some((q) => q.method === 'PUT'), 3000, 'the robot received the PUT');
      await c.stop();
      const o = await waitFor(async () => {
        const x = await shownOption(page, 'fake-opt-c', `${c.serial}-sensor-0`, 'gain');
        return x && !x.busy && x.msg ? x : null;
      }, 5000, 'a message next to gain');
      assert.equal(o.msg, "robot 'fake-opt-c' went offline before answering");
      assert.equal(o.value, 16, 'the value snaps back to what the robot last confirmed');
      const st = await waitFor(async () => {
        const s = await panelState(page, 'fake-opt-c');
        return /offline/.test(s.status) ? s : null;
      }, 3000, 'the panel says the robot is offline');
      assert.equal(st.status, 'fake-opt-c is offline: its options cannot be read or changed until it is back.');
      assert.ok(st.sensors.every((s) => s.options.every((x) => x.disabled)), 'every control is disabled while it is offline');
      await shot(page, 'ui-options-offline');
      // Back online: the panel reads the options again by itself.
      const c2 = await fake('fake-opt-c', 'silent');
      const back = await waitFor(async () => {
        const s = await panelState(page, 'fake-opt-c');
        return s.status === '' && s.sensors.some((x) => x.options.some((y) => !y.disabled)) ? s : null;
      }, 5000, 'the panel usable again once the robot is back');
      assert.deepEqual(shownPanel(back), expectedPanel(c2));
      assert.deepEqual(c2.requests.map((q) => q.path), [`/api/devices/${c2.serial}/sensors/`]);
      await page.close();
    } },
    { name: 'ui.options-slow', async run() {
      // A robot that does not answer: the cloud's 504 (here after 1 s) is shown, on reading and on setting.
      const sport = await freePort();
      const slowCloud = await startCloud({ bin: CLOUD_BIN, port: sport, webRoot: WEB_ROOT, extraArgs: ['--request-timeout', '1'] });
      const d = await new FakeRobot(`ws://127.0.0.1:${sport}/ws`, 'fake-slow', { mode: 'silent' }).start();
      try {
        d.hold = true;
        const page = await browser.newPage(`http://127.0.0.1:${sport}/`);
        await row(page, 'fake-slow').waitFor({ timeout: 2000 });
        await row(page, 'fake-slow').locator('button.watch').click();
        await tile(page, 'fake-slow').locator('button.options-toggle').click();
        const st = await waitFor(async () => {
          const s = await panelState(page, 'fake-slow');
          return /did not answer/.test(s.status) ? s : null;
        }, 5000, 'the panel reports the robot did not answer');
        assert.equal(st.status, "Could not read the options: robot 'fake-slow' did not answer within 1 s");
        d.hold = false;
        await tile(page, 'fake-slow').locator('button.options-reload').click();
        await waitFor(async () => (await panelState(page, 'fake-slow')).sensors.length === 2, 3000, 'Reload reads the options');
        d.hold = true;
        const contrast = optRow(page, 'fake-slow', `${d.serial}-sensor-1`, 'contrast');
        await contrast.locator('.opt-number').fill('60');
        await contrast.locator('.opt-number').press('Enter');
        const o = await waitFor(async () => {
          const x = await shownOption(page, 'fake-slow', `${d.serial}-sensor-1`, 'contrast');
          return x && !x.busy && x.msg ? x : null;
        }, 5000, 'a message next to contrast');
        assert.equal(o.msg, "robot 'fake-slow' did not answer within 1 s");
        assert.equal(o.value, 50);
        await page.close();
      } finally {
        await d.stop();
        await slowCloud.stop();
      }
    } },
    { name: 'ui.cloud-restart', async run() {
      const page = await browser.newPage(url);
      await row(page, 'fake-1').waitFor({ timeout: 2000 });
      await cloud.stop('SIGTERM');
      await waitFor(async () => ['unreachable', 'reconnecting'].includes(
        await page.locator('#cloud-status').getAttribute('data-state')), 3000, 'the status shows the cloud is down');
      await page.locator('#banner').waitFor({ state: 'visible', timeout: 3000 });
      assert.match(await page.locator('#banner').innerText(), /cloud/i);
      await shot(page, 'ui-cloud-down');
      await sleep(1500);
      cloud = await startCloud({ bin: CLOUD_BIN, port, webRoot: WEB_ROOT });
      // The fake robots do not reconnect: one fresh robot must show up, the old ones offline.
      await fake('fake-back', 'error');
      await waitFor(async () => (await page.locator('#cloud-status').getAttribute('data-state')) === 'open', 15000,
        'the viewer reconnected to the restarted cloud');
      await row(page, 'fake-back').waitFor({ timeout: 3000 });
      assert.equal(await row(page, 'fake-back').getAttribute('data-online'), 'true');
      assert.equal(await row(page, 'fake-1').getAttribute('data-online'), 'false', 'a robot gone with the old cloud is offline');
      assert.equal(await page.locator('#banner').isVisible(), false, 'the banner is gone');
      await page.close();
    } },
  ];
  try {
    return await runScenarios(scenarios, only.filter((o) => o.startsWith('ui')));
  } finally {
    if (browser.errors.length) console.log(`page errors:\n  ${browser.errors.join('\n  ')}`);
    for (const f of fakes) await f.stop();
    await browser.close();
    await cloud.stop();
  }
}

// --- the video scenarios: real cloud, real robot ------------------------------------

async function videoGroup() {
  if (!ROBOT_BIN) throw new Error('PORTHOLE_ROBOT is not set (path of porthole-robot, or "page")');
  if (ROBOT_BIN !== 'page' && !existsSync(ROBOT_BIN)) throw new Error(`no porthole-robot at ${ROBOT_BIN}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  let cloud = await startCloud({ bin: CLOUD_BIN, port, webRoot: WEB_ROOT });
  const browser = await launchBrowser();
  const robots = [];
  const robot = async (id) => {
    const r = ROBOT_BIN === 'page'
      ? await startPageRobot(browser, port, id)
      : await startRobot({ bin: ROBOT_BIN, port, robotId: id });
    robots.push(r);
    return r;
  };
  const pages = [];
  const open = async (u = url) => { const p = await browser.newPage(u); pages.push(p); return p; };
  let r1;
  let main;
  const scenarios = [
    { name: 'video.list', async run() {
      r1 = await robot('sim-1');
      const t0 = Date.now();
      main = await open();
      await row(main, 'sim-1').waitFor({ timeout: 2000 });
      const took = Date.now() - t0;
      assert.ok(took <= 2000, `listed in ${took} ms`);
      const text = await row(main, 'sim-1').innerText();
      assert.match(text, /RealSense/);
      assert.match(text, /depth/);
      console.log(`     listed in ${took} ms`);
    } },
    { name: 'video.play', async run() {
      await watch(main, 'sim-1', 'color');
      const st = await expectFlowing(main, 'sim-1', 'colour');
      assert.equal(st.width, 640, 'videoWidth');
      assert.equal(st.height, 480, 'videoHeight');
      await sleep(1500); // a second stats period, so the overlay has rates
      const stats = await tile(main, 'sim-1').locator('.stats').innerText();
      assert.match(stats, /fps/);
      assert.match(stats, /640×480/);
      assert.match(stats, /host/);
      await shot(main, 'video-color');
    } },
    { name: 'video.switch', async run() {
      for (const [stream, check] of [['depth', assertDepthPicture], ['infrared-1', assertGrayPicture]]) {
        await tile(main, 'sim-1').locator('select.tile-stream').selectOption(stream);
        await waitFor(async () => (await videoState(main, 'sim-1'))?.streamTypes?.[0] === stream, 5000,
          `the robot confirmed the switch to ${stream}`);
        await expectFlowing(main, 'sim-1', stream);
        // The first frames after a switch may still be the old picture: retry the check briefly.
        await waitFor(async () => { check(await samplePixels(main, 'sim-1')); return true; }, 3000,
          `${stream} picture`, 250);
        if (stream === 'depth') {
          assert.equal(await tile(main, 'sim-1').locator('.legend').isVisible(), true, 'the depth legend shows');
        }
        await shot(main, `video-${stream}`);
      }
      await tile(main, 'sim-1').locator('select.tile-stream').selectOption('color');
      await waitFor(async () => (await videoState(main, 'sim-1'))?.streamTypes?.[0] === 'color', 5000, 'back to colour');
      await expectFlowing(main, 'sim-1', 'colour again');
    } },
    { name: 'video.ice-restart', async run() {
      // The viewer asks; the robot re-offers with new ICE credentials on the
      // same session; the browser answers on the same peer connection, and
      // the same MediaStream keeps playing in the same <video>.
      const before = await main.evaluate(() => {
        const t = window.portholeViewer.tiles.get('sim-1');
        window.__restartProbe = { stream: t.video.srcObject, pc: t.session.peerConnection };
        return { id: t.session.id, asked: t.session.restartIce() };
      });
      assert.equal(before.asked, true, 'restartIce() asked the robot');
      await waitFor(() => main.evaluate(() => window.portholeViewer.tiles.get('sim-1').session.iceRestarts === 1),
        5000, 'the session answered the robot\'s new offer');
      await expectFlowing(main, 'sim-1', 'after the ICE restart');
      const after = await main.evaluate(() => {
        const t = window.portholeViewer.tiles.get('sim-1');
        return { id: t.session.id, state: t.session.state, sameStream: t.video.srcObject === window.__restartProbe.stream,
          samePc: t.session.peerConnection === window.__restartProbe.pc };
      });
      assert.deepEqual(after, { id: before.id, state: 'connected', sameStream: true, samePc: true });
    } },
    { name: 'video.path-cut', async run() {
      // The browser's path dies (its ICE port dropped both ways by nftables in
      // this test's own network namespace): the SDK sees the video stop and
      // asks, the robot restarts ICE, the browser gathers new ports, and the
      // video comes back on the same session.
      const nft = (script) => execFileSync('nft', ['-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'] });
      const table = 'table inet porthole_browser_cut';
      try { nft(`${table}\ndelete ${table}\n`); } catch {
        console.log('     skipped: nft is missing or not permitted here');
        return;
      }
      const port = await main.evaluate(async () => {
        const pc = window.portholeViewer.tiles.get('sim-1').session.peerConnection;
        const byId = new Map();
        (await pc.getStats()).forEach((s) => byId.set(s.id, s));
        for (const s of byId.values()) {
          if (s.type === 'transport' && s.selectedCandidatePairId) {
            return byId.get(byId.get(s.selectedCandidatePairId).localCandidateId).port;
          }
        }
        return null;
      });
      assert.ok(Number.isInteger(port), 'the browser\'s selected candidate pair has a local port');
      const id = await main.evaluate(() => window.portholeViewer.tiles.get('sim-1').session.id);
      const restarts = await main.evaluate(() => window.portholeViewer.tiles.get('sim-1').session.iceRestarts);
      nft(`table inet porthole_browser_cut {\n  chain out {\n    type filter hook output priority 0; policy accept;\n`
        + `    udp sport ${port} drop\n    udp dport ${port} drop\n  }\n}\n`);
      const t0 = Date.now();
      try {
        await sleep(500);
        await expectFlowing(main, 'sim-1', 'after the path was cut', 30, 10000);
      } finally {
        nft(`${table}\ndelete ${table}\n`);
      }
      console.log(`     video back within ${Date.now() - t0} ms of the cut`);
      const after = await main.evaluate(() => {
        const t = window.portholeViewer.tiles.get('sim-1');
        return { id: t.session.id, restarts: t.session.iceRestarts };
      });
      assert.equal(after.id, id, 'the same session');
      assert.ok(after.restarts > restarts, 'by an ICE restart');
    } },
    { name: 'video.second-page', async run() {
      const second = await open();
      await row(second, 'sim-1').waitFor({ timeout: 2000 });
      await watch(second, 'sim-1', 'depth');
      await Promise.all([expectFlowing(main, 'sim-1', 'first page'), expectFlowing(second, 'sim-1', 'second page')]);
      await shot(second, 'video-second-page');
      await tile(second, 'sim-1').locator('button.close').click();
      assert.equal(await tile(second, 'sim-1').count(), 0);
      await expectFlowing(main, 'sim-1', 'first page after the second left');
      await second.close();
    } },
    { name: 'video.grid', async run() {
      await robot('sim-2');
      await row(main, 'sim-2').waitFor({ timeout: 3000 });
      await watch(main, 'sim-2', 'depth');
      await Promise.all([expectFlowing(main, 'sim-1', 'grid sim-1'), expectFlowing(main, 'sim-2', 'grid sim-2')]);
      await sleep(1200);
      await main.setViewportSize({ width: 1280, height: 560 });
      const path = await shot(main, 'viewer');
      await main.setViewportSize({ width: 1280, height: 800 });
      if (process.env.PORTHOLE_DOCS_SCREENSHOT) copyFileSync(path, process.env.PORTHOLE_DOCS_SCREENSHOT);
      await tile(main, 'sim-2').locator('button.close').click();
      await robots.pop().stop();
    } },
    { name: 'video.old-robot', async run() {
      // A robot that does not know create-session's offer (the page robot
      // speaks the older protocol) offers itself: the viewer, which offered
      // first (viewerOffers, the default; ?offer=1 says so whatever the
      // default), takes its offer back and answers.
      const old = await startPageRobot(browser, port, 'old-1');
      const offering = new URL(url);
      offering.searchParams.set('offer', '1');
      const main = await open(offering.href);
      try {
        await row(main, 'old-1').waitFor({ timeout: 5000 });
        await watch(main, 'old-1', 'color').catch(async (e) => {
          const why = await main.evaluate(() => {
            const s = window.portholeViewer.tiles.get('old-1')?.session;
            const pc = s?.peerConnection;
            return { state: s?.state, offers: s?._offers, error: s?.error?.message, signaling: pc?.signalingState,
              ice: pc?.iceConnectionState, conn: pc?.connectionState };
          }).catch(() => null);
          throw new Error(`${e.message} (${JSON.stringify(why)})`);
        });
        await expectFlowing(main, 'old-1', 'from the older robot');
        const fell = await main.evaluate(() => {
          const s = window.portholeViewer.tiles.get('old-1').session;
          return { offers: s._offers, state: s.state };
        });
        assert.deepEqual(fell, { offers: false, state: 'connected' }, 'fell back to answering');
        await tile(main, 'old-1').locator('button.close').click();
      } finally {
        await old.stop();
      }
    } },
    { name: 'video.cloud-restart', async run() {
      // A crash (SIGKILL: the connections just drop) and a clean stop (SIGTERM:
      // the cloud first sends session-closed 'server-shutdown' to both sides).
      for (const signal of ['SIGKILL', 'SIGTERM']) {
        await expectFlowing(main, 'sim-1', `${signal}: before the stop`);
        await cloud.stop(signal);
        await waitFor(async () => ['unreachable', 'reconnecting'].includes(
          await main.locator('#cloud-status').getAttribute('data-state')), 3000, `${signal}: the status shows the cloud is down`);
        const down = await expectFlowing(main, 'sim-1', `${signal}: while the cloud is down`, 30, 5000).catch((e) => {
          if (r1.lines?.some((l) => l.includes('(server-shutdown)'))) {
            e.message += ' -- the robot ended its session on session-closed \'server-shutdown\'; to keep the'
              + ' video alive while the cloud restarts it must keep the peer connection (as it does when the'
              + ' connection just drops)';
          }
          throw e;
        });
        assert.equal(down.state, 'connected', `${signal}: the session is still connected`);
        assert.equal(down.signaling, 'detached');
        await shot(main, `video-cloud-down-${signal}`);
        cloud = await startCloud({ bin: CLOUD_BIN, port, webRoot: WEB_ROOT });
        await waitFor(async () => (await main.locator('#cloud-status').getAttribute('data-state')) === 'open', 15000,
          `${signal}: the viewer reconnected to the restarted cloud`);
        await waitFor(async () => (await row(main, 'sim-1').getAttribute('data-online')) === 'true', 20000,
          `${signal}: the robot is listed online again`);
        await expectFlowing(main, 'sim-1', `${signal}: after the restart`);
        // Reattach: the badge reconnects the session through the new cloud.
        await tile(main, 'sim-1').locator('button.badge.detached').click();
        await waitFor(async () => (await tile(main, 'sim-1').getAttribute('data-state')) === 'connected', 10000,
          `${signal}: a new session through the restarted cloud`);
        await expectFlowing(main, 'sim-1', `${signal}: the new session`);
      }
    } },
    { name: 'video.robot-stop', async run() {
      await expectFlowing(main, 'sim-1', 'before the robot stops');
      await r1.stop();
      await waitFor(async () => (await row(main, 'sim-1').getAttribute('data-online')) === 'false', 5000,
        'the robot row marked offline');
      const msg = tile(main, 'sim-1').locator('.message');
      await msg.waitFor({ state: 'visible', timeout: 10000 });
      const text = await msg.innerText();
      assert.ok(text.trim().length > 0, 'a message says the session ended');
      assert.equal(await tile(main, 'sim-1').getAttribute('data-state'), 'closed');
      console.log(`     message: ${JSON.stringify(text.split('\n')[0])}`);
      await shot(main, 'video-robot-stopped');
    } },
  ];
  try {
    return await runScenarios(scenarios, only.filter((o) => o.startsWith('video')), { chained: true });
  } finally {
    if (browser.errors.length) console.log(`page errors:\n  ${browser.errors.join('\n  ')}`);
    for (const r of robots) {
      if (ROBOT_BIN !== 'page' && r.log && !process.env.PORTHOLE_TEST_VERBOSE) {
        console.log(`--- last lines of ${r.name}:\n${r.lines.slice(-25).join('\n')}`);
      }
      await r.stop();
    }
    await browser.close();
    await cloud.stop();
  }
}

let failed = 0;
const wants = (group) => !only.length || only.some((o) => o === group || o.startsWith(`${group}.`));
try {
  if (wants('ui')) failed += await uiGroup();
  if (wants('video')) failed += await videoGroup();
  if (wants('auth')) {
    failed += await authGroup({ cloudBin: CLOUD_BIN, webRoot: WEB_ROOT, artifacts: ARTIFACTS,
      only: only.filter((o) => o.startsWith('auth')) });
  }
} catch (e) {
  console.error(`browser: FAIL: ${e.stack || e}`);
  failed++;
}
console.log(`screenshots: ${ARTIFACTS}`);
process.exit(failed ? 1 : 0);
