// depth.mjs - browser tests of metric depth (docs/VIEWER.md, "Metric
// depth"): headless Debian chromium against the real porthole-cloud and
// porthole-robot (simulated camera).
//
//   node tests/browser/depth.mjs [scenario ...]
//
// Environment: PORTHOLE_CLOUD, PORTHOLE_ROBOT, PORTHOLE_WEB_ROOT,
// PORTHOLE_ARTIFACTS (screenshots), DEPTH_FIXTURE_TOOL (analytic depth of
// the simulated scene: tests/unit/depth_fixture_tool.c). Run inside
// tests/netns-run.sh. The robot "flat" runs with --no-depth-channel: it
// answers as a camera without depth does.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  artifactsDir, freePort, launchBrowser, runScenarios, sleep, startCloud, startRobot, waitFor,
} from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const CLOUD_BIN = process.env.PORTHOLE_CLOUD;
const ROBOT_BIN = process.env.PORTHOLE_ROBOT;
const TOOL = process.env.DEPTH_FIXTURE_TOOL;
const WEB_ROOT = resolve(process.env.PORTHOLE_WEB_ROOT || join(here, '../../web'));
const ARTIFACTS = artifactsDir();
const only = process.argv.slice(2);

if (!CLOUD_BIN || !ROBOT_BIN || !TOOL) {
  console.error('depth: FAIL: set PORTHOLE_CLOUD, PORTHOLE_ROBOT and DEPTH_FIXTURE_TOOL');
  process.exit(1);
}
setTimeout(() => { console.error('depth: FAIL: the run took more than 240 s'); process.exit(1); }, 240000).unref();

const tile = (page, id) => page.locator(`#grid .tile[data-robot-id="${id}"]`);

/** Opens an SDK session with depth on robot id in the page; its log is window.__d. */
function openSdk(page, wsUrl, id, depth) {
  return page.evaluate(async ({ ws, rid, dep }) => {
    const m = await import('/porthole.js');
    const cloud = window.__cloud || (window.__cloud = m.connect(ws));
    const s = cloud.openSession(rid, { streamTypes: ['color'], depth: dep });
    window.__d = { s, log: [] };
    for (const ev of ['depthconfig', 'deptherror', 'depthcalibration', 'depthcolormap']) {
      s.on(ev, (d) => window.__d.log.push({ ev, d: JSON.parse(JSON.stringify(d)) }));
    }
  }, { ws: wsUrl, rid: id, dep: depth });
}

const logOf = (page, ev) => page.evaluate((e) => window.__d.log.filter((x) => x.ev === e).map((x) => x.d), ev);
const frames = (page) => page.evaluate(() => window.__d.s.depthInfo.frames);

/** Pixels of the 3D canvas that are not its clear colour, and a hash of the picture. */
function canvasSummary(page, id) {
  return page.evaluate((rid) => {
    const v = window.portholeViewer.tiles.get(rid).view3d;
    v._draw(); // and read it in the same task: the canvas keeps no drawing buffer
    const src = v.three.renderer.domElement;
    const c = document.createElement('canvas');
    c.width = src.width;
    c.height = src.height;
    const g = c.getContext('2d');
    g.drawImage(src, 0, 0);
    const px = g.getImageData(0, 0, c.width, c.height).data;
    let lit = 0;
    let hash = 0;
    for (let i = 0; i < px.length; i += 4) {
      if (Math.abs(px[i] - 11) + Math.abs(px[i + 1] - 14) + Math.abs(px[i + 2] - 19) > 30) lit++;
      hash = (hash * 31 + px[i] + 7 * px[i + 1] + 13 * px[i + 2]) | 0;
    }
    return { lit, total: px.length / 4, hash, points: v.three.geometry.drawRange.count };
  }, id);
}

async function main() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const wsUrl = `ws://127.0.0.1:${port}/ws`;
  await startCloud({ bin: CLOUD_BIN, port, webRoot: WEB_ROOT });
  await startRobot({ bin: ROBOT_BIN, port, robotId: 'sim-1' });
  const browser = await launchBrowser();
  let sdk;
  let viewer;
  const scenarios = [
    { name: 'depth.clamp', async run() {
      // An absurd request is served, clamped, and the viewer is told how.
      sdk = await browser.newPage(url);
      await openSdk(sdk, wsUrl, 'sim-1', { rate: 1000, decimation: 0, color: true });
      const [cfg] = await waitFor(async () => (await logOf(sdk, 'depthconfig')).length && logOf(sdk, 'depthconfig'), 15000,
        'the robot\'s depth-config');
      assert.equal(cfg.rate, 30);
      assert.equal(cfg.decimation, 1);
      assert.match(cfg.message, /rate 1000 is above the most, 30: using 30/);
      assert.match(cfg.message, /decimation 0 is below the least, 1: using 1/);
      const cal = (await logOf(sdk, 'depthcalibration'))[0];
      assert.equal(cal.units, 'metres');
      assert.deepEqual(cal.extrinsics.color.rotation, [1, 0, 0, 0, 1, 0, 0, 0, 1]);
      await waitFor(async () => (await frames(sdk)) > 3, 10000, 'depth frames');
      const c2 = await sdk.evaluate(() => window.__d.s.setDepth({ rate: 10, decimation: 99 }));
      assert.equal(c2.decimation, 16);
      assert.match(c2.message, /decimation 99 is above the most, 16: using 16/);
      const bad = await sdk.evaluate(() => window.__d.s.setDepth({ rate: 'fast' }).then(() => null, (e) => e.message));
      assert.match(bad, /rate must be a finite number/);
      const c3 = await sdk.evaluate(() => window.__d.s.setDepth({ rate: 15, decimation: 2, color: true }));
      assert.deepEqual([c3.rate, c3.decimation, c3.color, c3.message], [15, 2, true, null]);
      // The robot's telemetry counts what the channel sent.
      await waitFor(async () => (await sdk.evaluate(() => window.__d.s.telemetry?.depth?.framesSent)) > 0, 5000,
        'depth figures in the telemetry');
    } },
    { name: 'depth.analytic', async run() {
      // depthAt on a floor pixel and a sphere pixel of the colour stream,
      // against the simulator's geometry at the frame's capture time.
      await waitFor(async () => sdk.evaluate(() => window.__d.s.depth?.decimation === 2), 10000, 'a frame at decimation 2');
      let checked = null;
      for (let attempt = 0; attempt < 5 && !checked; attempt++) {
        const f = await sdk.evaluate(() => {
          const fr = window.__d.s.depth;
          window.__frame = fr;
          return { monoUs: fr.monoUs, w: fr.width * fr.decimation, h: fr.height * fr.decimation, age: Date.now() - fr.captureTime };
        });
        const pick = JSON.parse(execFileSync(TOOL, ['pick', String(f.w), String(f.h), String(f.monoUs / 1e6)], { encoding: 'utf8' }));
        if (!pick.floor || !pick.sphere) { await sleep(700); continue; }
        const got = await sdk.evaluate(({ a, b }) => ({
          floor: window.__frame.depthAt(a.x, a.y, 'color'), sphere: window.__frame.depthAt(b.x, b.y, 'color'),
        }), { a: pick.floor, b: pick.sphere });
        checked = { pick, got, age: f.age };
      }
      assert.ok(checked, 'a frame where a sphere is in view');
      const { pick, got } = checked;
      assert.ok(Math.abs(got.floor - pick.floor.depth) <= 0.01 * pick.floor.depth,
        `floor at (${pick.floor.x}, ${pick.floor.y}): ${got.floor} m, analytic ${pick.floor.depth} m`);
      assert.ok(Math.abs(got.sphere - pick.sphere.depth) <= 0.01 * pick.sphere.depth,
        `sphere at (${pick.sphere.x}, ${pick.sphere.y}): ${got.sphere} m, analytic ${pick.sphere.depth} m`);
      console.log(`     floor ${got.floor.toFixed(3)} m (analytic ${pick.floor.depth.toFixed(3)}), sphere ${got.sphere.toFixed(3)} m `
        + `(analytic ${pick.sphere.depth.toFixed(3)}), frame age ${checked.age} ms`);
    } },
    { name: 'depth.viewer-3d', async run() {
      viewer = await browser.newPage(`${url}?watch=sim-1`);
      await tile(viewer, 'sim-1').waitFor({ timeout: 10000 });
      await waitFor(async () => viewer.evaluate(() => window.portholeViewer.tiles.get('sim-1')?.session?.depth), 15000,
        'depth frames in the viewer');
      // Pointing at the video reads the depth there.
      const box = await tile(viewer, 'sim-1').locator('video').boundingBox();
      await viewer.mouse.move(box.x + box.width / 2, box.y + box.height * 0.9);
      // As generous as the other waits: the readout needs the next depth
      // frame, and the CI runs this beside the ASan suite (it once took
      // longer than 5 s there).
      await waitFor(async () => /\d+\.\d{3} m at \(\d+, \d+\)/.test(await tile(viewer, 'sim-1').locator('.probe').innerText()), 15000,
        'the depth readout under the pointer');
      // Two clicks measure.
      await viewer.mouse.click(box.x + box.width * 0.3, box.y + box.height * 0.9);
      await viewer.mouse.click(box.x + box.width * 0.7, box.y + box.height * 0.9);
      assert.match(await tile(viewer, 'sim-1').locator('.probe').innerText(), /A→B \d+\.\d{3} m/);
      // three.js comes from the cloud, and only its build/ and examples/jsm/.
      const codes = await viewer.evaluate(async () => Promise.all(['/vendor/three/build/three.module.js',
        '/vendor/three/examples/jsm/controls/OrbitControls.js', '/vendor/three/package.json', '/vendor/other/x.js']
        .map(async (p) => (await fetch(p)).status)));
      assert.deepEqual(codes, [200, 200, 404, 404]);
      await tile(viewer, 'sim-1').locator('.view3d').click();
      // The tile's idle depth (1/s at decimation 4: at most 19,200 points)
      // until the 3D tab's own request (15/s at decimation 2) is applied.
      await waitFor(async () => (await canvasSummary(viewer, 'sim-1')).points > 40000, 15000,
        'a point cloud drawn at the 3D tab\'s decimation');
      await viewer.screenshot({ path: join(ARTIFACTS, 'depth-3d.png') });
      const s = await canvasSummary(viewer, 'sim-1');
      assert.ok(s.lit > s.total * 0.1, `non-blank pixels: ${s.lit} of ${s.total}`);
      console.log(`     ${s.points} points, ${(100 * s.lit / s.total).toFixed(0)}% of the canvas drawn`);
    } },
    { name: 'depth.orbit', async run() {
      const t = tile(viewer, 'sim-1');
      await t.locator('.cloud3d-pause').check();
      await sleep(300);
      const before = await canvasSummary(viewer, 'sim-1');
      await sleep(500);
      assert.equal((await canvasSummary(viewer, 'sim-1')).hash, before.hash, 'paused: the picture stands still');
      const box = await t.locator('.cloud3d-canvas canvas').boundingBox();
      await viewer.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await viewer.mouse.down();
      for (let i = 1; i <= 10; i++) await viewer.mouse.move(box.x + box.width / 2 + 20 * i, box.y + box.height / 2 + 6 * i);
      await viewer.mouse.up();
      await viewer.mouse.wheel(0, -300);
      await sleep(300);
      const after = await canvasSummary(viewer, 'sim-1');
      assert.notEqual(after.hash, before.hash, 'orbiting changed the picture');
      assert.ok(after.lit > 0);
      await viewer.screenshot({ path: join(ARTIFACTS, 'depth-3d-orbit.png') });
      await t.locator('.cloud3d-pause').uncheck();
      await t.locator('.view3d').click();
    } },
    { name: 'depth.switch', async run() {
      // The depth channel runs on while the video switches streams.
      const t = tile(viewer, 'sim-1');
      const count = () => viewer.evaluate(() => window.portholeViewer.tiles.get('sim-1').session.depthInfo.frames);
      for (const stream of ['depth', 'infrared-1', 'color']) {
        const n0 = await count();
        await t.locator('select.tile-stream').selectOption(stream);
        await waitFor(async () => viewer.evaluate((st) => window.portholeViewer.tiles.get('sim-1').session.streamTypes[0] === st, stream),
          8000, `the switch to ${stream}`);
        await waitFor(async () => (await count()) > n0 + 5, 8000, `depth frames after switching to ${stream}`);
        if (stream === 'depth') {
          // The pointer readout works on the depth video too.
          const box = await t.locator('video').boundingBox();
          await viewer.mouse.move(box.x + box.width / 2, box.y + box.height * 0.85);
          await waitFor(async () => / m at /.test(await t.locator('.probe').innerText()), 5000, 'the readout on the depth video');
        }
      }
    } },
    { name: 'depth.colormap', async run() {
      const set = (o) => sdk.evaluate((x) => window.__d.s.setDepthColormap(x).then((v) => v, (e) => ({ error: e.message, code: e.code })), o);
      const ok = await set({ colormap: 'turbo', near: 0.5, far: 4 });
      assert.deepEqual(ok, { colormap: 'turbo', near: 0.5, far: 4 });
      // Every viewer of the robot hears of it: the viewer page's legend follows.
      await waitFor(async () => (await tile(viewer, 'sim-1').locator('.cmap-ramp').inputValue()) === 'turbo', 5000, 'the legend follows');
      const bad = await set({ near: 5, far: 1 });
      assert.equal(bad.code, 'invalid-colormap');
      assert.match(bad.error, /far at least/);
      const unknown = await set({ colormap: 'rainbow' });
      assert.match(unknown.error, /jet", "turbo" or "gray"/);
      assert.deepEqual(await set({ colormap: 'jet', near: 0.3, far: 6 }), { colormap: 'jet', near: 0.3, far: 6 });
    } },
    { name: 'depth.no-depth', async run() {
      await startRobot({ bin: ROBOT_BIN, port, robotId: 'flat', extraArgs: ['--no-depth-channel'] });
      await openSdk(sdk, wsUrl, 'flat', true);
      const [err] = await waitFor(async () => (await logOf(sdk, 'deptherror')).length && logOf(sdk, 'deptherror'), 15000,
        'the robot\'s depth-error');
      assert.equal(err.code, 'no-depth');
      assert.match(err.message, /metric depth is turned off on this robot/);
      const why = await sdk.evaluate(() => window.__d.s.setDepth({ rate: 5 }).then(() => null, (e) => `${e.code}: ${e.message}`));
      assert.match(why, /^no-depth: /);
      const page = await browser.newPage(`${url}?watch=flat`);
      await tile(page, 'flat').waitFor({ timeout: 10000 });
      await tile(page, 'flat').locator('.view3d').click();
      await waitFor(async () => /No 3D view: metric depth is turned off/.test(await tile(page, 'flat').locator('.cloud3d-status').innerText()),
        10000, 'the 3D tab says why');
      await page.screenshot({ path: join(ARTIFACTS, 'depth-3d-no-depth.png') });
    } },
  ];
  const failed = await runScenarios(scenarios, only, { chained: true });
  if (browser.errors.length) {
    console.error(`page errors:\n  ${browser.errors.join('\n  ')}`);
  }
  await browser.close();
  process.exit(failed || browser.errors.length ? 1 : 0);
}

main().catch((e) => {
  console.error(`depth: FAIL: ${e.stack || e.message}`);
  process.exit(1);
});
