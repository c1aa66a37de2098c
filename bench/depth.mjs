#!/usr/bin/env node
// depth.mjs - the metric depth channel as a viewer sees it, in Debian's
// headless chromium against a real porthole-cloud and porthole-robot
// (simulated camera, 640x480@30), inside a private network namespace:
//
//   1. bandwidth (bytes received per second), frames per second and the
//      end-to-end age of frames (capture time to the frame being complete
//      and decoded in the page, depthAt available: same machine clock) for
//      decimation 1, 2 and 4 at 15/s, and for 5, 15 and 30/s at decimation
//      2, all with aligned colour, and decimation 2 at 15/s without colour;
//   2. robot CPU (/proc/PID/stat, % of one core) in each of those, and with
//      the same colour video session but no depth channel (the baseline):
//      the difference is the channel's cost;
//   3. browser time to build a point cloud (DepthFrame.pointCloud, coloured)
//      per decimation, and the 3D tab's update rate at decimation 2 (the
//      viewer page; chromium runs --disable-gpu, so WebGL is SwiftShader on
//      the CPU: a real GPU draws faster).
//
//   node bench/depth.mjs [--short] [--build DIR]
//
// Prints one JSON line per measurement on stdout ({"bench":"depth",...}),
// progress on stderr; asserts nothing. About 60 s (--short: 3-s windows)
// to 2 minutes. Outside a namespace with only `lo` it re-executes itself
// through tests/netns-run.sh.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const argv = process.argv.slice(2);
const SHORT = argv.includes('--short');
const bi = argv.indexOf('--build');
const BUILD = resolve(bi >= 0 ? argv[bi + 1] : join(root, 'build'));
const WINDOW_S = SHORT ? 3 : 6;

const ifaces = readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).map((l) => l.split(':')[0].trim()).filter(Boolean);
if (ifaces.some((i) => i !== 'lo')) {
  const r = spawnSync(join(root, 'tests/netns-run.sh'), [process.execPath, fileURLToPath(import.meta.url), ...argv],
    { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const log = (m) => console.error(`depth-bench: ${m}`);
const emit = (o) => process.stdout.write(`${JSON.stringify({ bench: 'depth', ...o })}\n`);
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
const ticks = (pid) => {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
};
const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null);
const r1 = (v) => (v === null || !Number.isFinite(v) ? null : Number(v.toFixed(1)));

async function main() {
  const H = await import('../tests/browser/harness.mjs');
  const CLOUD = process.env.PORTHOLE_CLOUD || join(BUILD, 'porthole-cloud');
  const ROBOT = process.env.PORTHOLE_ROBOT || join(BUILD, 'porthole-robot');
  if (!existsSync(CLOUD) || !existsSync(ROBOT)) {
    emit({ error: `no porthole-cloud or porthole-robot in ${BUILD}` });
    process.exit(1);
  }
  setTimeout(() => { emit({ error: 'the run took more than 240 s' }); process.exit(1); }, 240000).unref();
  const port = await H.freePort();
  const url = `http://127.0.0.1:${port}/`;
  await H.startCloud({ bin: CLOUD, port, webRoot: join(root, 'web') });
  const robot = await H.startRobot({ bin: ROBOT, port, robotId: 'bench-depth',
    extraArgs: ['--camera', 'sim', '--width', '640', '--height', '480', '--fps', '30'] });
  const pid = robot.proc.pid;
  const browser = await H.launchBrowser();
  const page = await browser.newPage(url);

  /** Opens a session (depth: false or a request) and waits for frames. */
  const open = (depth) => page.evaluate(async ({ ws, dep }) => {
    const m = await import('/porthole.js');
    window.__cloud ||= m.connect(ws);
    window.__s?.close();
    const s = window.__cloud.openSession('bench-depth', { streamTypes: ['color'], depth: dep });
    window.__s = s;
    window.__ages = [];
    s.on('depth', (f) => window.__ages.push(f.receivedAt - f.captureTime));
    await new Promise((res, rej) => {
      // With depth, ready once the robot says which settings are in force.
      s.on(dep ? 'depthconfig' : 'state', (d) => { if (dep || d.state === 'connected') res(); });
      s.on('closed', ({ message }) => rej(new Error(message)));
    });
  }, { ws: `ws://127.0.0.1:${port}/ws`, dep: depth });
  const snap = () => page.evaluate(() => ({ bytes: window.__s.depthInfo.bytes, frames: window.__s.depthInfo.frames, t: Date.now() }));

  async function window_(label, extra) {
    await H.sleep(1000); // settle after a change
    await page.evaluate(() => { window.__ages = []; });
    const a = await snap();
    const c0 = ticks(pid);
    await H.sleep(WINDOW_S * 1000);
    const c1 = ticks(pid);
    const b = await snap();
    const ages = (await page.evaluate(() => window.__ages)).sort((x, y) => x - y);
    const secs = (b.t - a.t) / 1000;
    const o = { label, ...extra, kbytes_per_s: r1((b.bytes - a.bytes) / 1024 / secs), fps: r1((b.frames - a.frames) / secs),
      robot_cpu_pct: r1((100 * (c1 - c0)) / CLK_TCK / secs), age_p50_ms: r1(pct(ages, 50)), age_p95_ms: r1(pct(ages, 95)),
      window_s: r1(secs) };
    emit(o);
    log(JSON.stringify(o));
    return o;
  }

  log('baseline: a colour session without depth');
  await open(false);
  await window_('baseline', { decimation: null, rate: null, color: null });
  await open({ rate: 15, decimation: 2, color: true });
  const configs = [
    [1, 15, true], [2, 15, true], [4, 15, true], [2, 5, true], [2, 30, true], [2, 15, false],
  ];
  for (const [decimation, rate, color] of configs) {
    await page.evaluate((c) => window.__s.setDepth(c), { decimation, rate, color });
    await window_(`d${decimation} r${rate}${color ? ' colour' : ''}`, { decimation, rate, color });
  }

  // Browser time to build a point cloud, per decimation (one frame each).
  for (const decimation of [1, 2, 4]) {
    await page.evaluate((d) => window.__s.setDepth({ decimation: d, rate: 15, color: true }), decimation);
    await H.waitFor(() => page.evaluate((d) => window.__s.depth?.decimation === d, decimation), 5000, 'a frame');
    const ms = await page.evaluate(() => {
      const f = window.__s.depth;
      const times = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        f.pointCloud({ colored: true });
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      return { p50: times[10], points: f.pointCloud().count };
    });
    emit({ label: 'point cloud build', decimation, build_ms_p50: r1(ms.p50), points: ms.points });
  }

  // The 3D tab at decimation 2, 15/s (the viewer's default request).
  const viewer = await browser.newPage(`${url}?watch=bench-depth`);
  await H.waitFor(() => viewer.evaluate(() => window.portholeViewer?.tiles.get('bench-depth')?.session?.depth), 15000, 'viewer frames');
  await viewer.locator('.tile .view3d').click();
  await H.sleep(2000);
  await viewer.evaluate(() => { const v = window.portholeViewer.tiles.get('bench-depth').view3d; v._frames = 0; v._since = performance.now(); });
  await H.sleep(WINDOW_S * 1000);
  const v3 = await viewer.evaluate(() => {
    const v = window.portholeViewer.tiles.get('bench-depth').view3d;
    const fps = (v._frames * 1000) / (performance.now() - v._since);
    // One draw of the cloud, finished: what a frame costs the renderer.
    const t = v.three;
    const times = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      t.renderer.render(t.scene, t.camera);
      const gl = t.renderer.getContext();
      gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(4)); // waits for the draw
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return { fps, points: t.geometry.drawRange.count, renderMs: times[5], size: [t.renderer.domElement.width, t.renderer.domElement.height] };
  });
  emit({ label: '3D tab', decimation: 2, rate: 15, updates_per_s: r1(v3.fps), render_ms_p50: r1(v3.renderMs), canvas: v3.size,
    points: v3.points, webgl: 'SwiftShader (--disable-gpu)' });
  await browser.close();
  process.exit(0);
}

main().catch((e) => { emit({ error: e.message }); console.error(e); process.exit(1); });
