// depth.test.mjs - web/depth.js against the robot's C: a frame of the
// simulated scene packed by depth_fixture_tool (depth_pack.c) is put back
// together from its chunks, decoded, and deprojected; every checked point
// must agree with the C deprojection and the scene's analytic geometry
// within 1 mm, colour must be the aligned colour, and lookups through the
// calibration's extrinsics must land on the same samples.
//
//   DEPTH_FIXTURE_TOOL=build/depth_fixture_tool node --test tests/unit/depth.test.mjs

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DepthFrame, DepthLink, Reassembler, depthRequest, lz4DecodeBlock, parseFrame,
} from '../../web/depth.js';

const TOOL = process.env.DEPTH_FIXTURE_TOOL;
if (!TOOL) {
  console.log('SKIPPED: DEPTH_FIXTURE_TOOL is not set');
  process.exit(77);
}
const dir = mkdtempSync(join(tmpdir(), 'porthole-depth-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
execFileSync(TOOL, ['fixture', dir]);
const expect = JSON.parse(readFileSync(join(dir, 'expect.json'), 'utf8'));
const whole = new Uint8Array(readFileSync(join(dir, 'frame.bin')));
const chunks = readdirSync(dir).filter((f) => f.startsWith('chunk-')).sort()
  .map((f) => new Uint8Array(readFileSync(join(dir, f))));
const dist = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

test('chunks in any order, with duplicates, make the frame again', () => {
  const re = new Reassembler();
  const order = [...chunks].reverse();
  let out = null;
  for (const c of [order[0], ...order]) out = re.push(c) || out;
  assert.deepEqual(out, whole);
  // The same frame again is older than the one shown: dropped.
  assert.equal(re.push(chunks[0]), null);
});

test('the header says what the robot packed', () => {
  const f = parseFrame(whole);
  assert.equal(f.number, expect.number);
  assert.equal(f.wallUs, expect.wallUs);
  assert.equal(f.width, expect.width);
  assert.equal(f.height, expect.height);
  assert.equal(f.decimation, expect.decimation);
  assert.equal(f.unit, 0.001);
  assert.equal(f.fx, expect.calibration.streams.depth.fx);
  assert.equal(f.mm.filter((v) => v > 0).length, expect.points);
});

test('deprojection agrees with C and with the scene within 1 mm', () => {
  const frame = new DepthFrame(parseFrame(whole), expect.calibration);
  let floor = 0;
  let sphere = 0;
  for (const s of expect.samples) {
    assert.equal(frame.mm[(s.y / s.decimation || s.y / expect.decimation) * frame.width + s.x / expect.decimation], s.mm);
    const p = frame.deproject(s.x, s.y);
    assert.ok(dist(p, s.point) < 0.001, `JS and C differ at (${s.x}, ${s.y}): ${p} vs ${s.point}`);
    if (s.what !== 'none' && Math.abs(s.mm / 1000 - s.analytic) < 0.002) {
      assert.ok(Math.abs(frame.depthAt(s.x, s.y) - s.analytic) < 0.001, `analytic depth at (${s.x}, ${s.y})`);
      if (s.what === 'floor') floor++; else sphere++;
    }
    // The colour stream shares the depth viewpoint in the simulator.
    assert.ok(dist(frame.deproject(s.x, s.y, 'color'), s.point) < 1e-9);
  }
  assert.ok(floor > 50, `floor samples checked: ${floor}`);
  assert.ok(sphere > 3, `sphere samples checked: ${sphere}`);
});

test('colour per point is the aligned colour the robot computed', () => {
  const frame = new DepthFrame(parseFrame(whole), expect.calibration);
  for (const s of expect.samples) {
    const k = 3 * ((s.y / expect.decimation) * frame.width + s.x / expect.decimation);
    assert.deepEqual([frame.rgb[k], frame.rgb[k + 1], frame.rgb[k + 2]], s.rgb);
  }
});

test('a pixel of another viewpoint (infrared-2, 50 mm baseline) finds its sample', () => {
  const frame = new DepthFrame(parseFrame(whole), expect.calibration);
  let found = 0;
  for (const s of expect.samples) {
    const [x, y] = s.ir2;
    const hit = frame.lookup(x, y, 'infrared-2');
    if (!hit) continue;
    // Occlusion aside, the epipolar search lands on the same surface.
    if (dist(hit.point, s.point) < 0.001) {
      assert.ok(Math.abs(hit.z - s.ir2z) < 0.001);
      found++;
    }
  }
  assert.ok(found > expect.samples.length * 0.8, `${found} of ${expect.samples.length}`);
});

test('point clouds: every sample with depth, coarser on request, as Float32Arrays', () => {
  const frame = new DepthFrame(parseFrame(whole), expect.calibration);
  const all = frame.pointCloud({ colored: true });
  assert.equal(all.count, expect.points);
  assert.ok(all.positions instanceof Float32Array && all.colors instanceof Float32Array);
  assert.equal(all.positions.length, 3 * expect.points);
  const coarse = frame.pointCloud({ decimation: 8, colored: false });
  assert.ok(coarse.count < all.count / 10 && coarse.count > all.count / 20);
  assert.equal(coarse.colors, null);
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) frame.pointCloud({ colored: true });
  console.log(`# pointCloud 320x240 coloured: ${((performance.now() - t0) / 20).toFixed(2)} ms`);
});

test('malformed frames and blocks are refused with a reason', () => {
  assert.throws(() => parseFrame(whole.subarray(0, whole.length - 1)), /add up/);
  const bad = whole.slice();
  bad[0] = 0x51;
  assert.throws(() => parseFrame(bad), /PHDF/);
  const cut = whole.slice();
  cut[100] ^= 0xff; // inside the LZ4 block
  try { parseFrame(cut); } catch (e) { assert.match(e.message, /depth frame/); }
  assert.equal(lz4DecodeBlock(new Uint8Array([0x10]), new Uint8Array(8)), -1);
  assert.equal(new Reassembler().push(new Uint8Array(10)), null);
});

test('depth requests are checked before they are sent', () => {
  assert.equal(depthRequest(undefined), null);
  assert.deepEqual(depthRequest(true), {});
  assert.deepEqual(depthRequest({ rate: 1000, decimation: 0, color: true }), { rate: 1000, decimation: 0, color: true });
  assert.throws(() => depthRequest({ rate: 'fast' }), /finite number/);
  assert.throws(() => depthRequest({ color: 1 }), /true or false/);
  assert.throws(() => depthRequest([1]), /true or/);
});

test('setDepth: refused without depth, queued until the channel opens, rejected on close', async () => {
  const none = new DepthLink(() => {}, null);
  await assert.rejects(none.setDepth({ rate: 5 }), /no depth channel/);
  const link = new DepthLink(() => {}, {});
  await assert.rejects(link.setDepth({ rate: 'x' }), (e) => e.code === 'invalid-argument');
  const sent = [];
  const waiting = link.setDepth({ rate: 5 });
  const ch = { label: 'depth-control', readyState: 'connecting', send: (t) => sent.push(JSON.parse(t)) };
  link.takeChannel(ch);
  assert.equal(sent.length, 0);
  ch.readyState = 'open';
  ch.onopen();
  assert.deepEqual(sent, [{ type: 'depth-config', rate: 5 }]);
  ch.onmessage({ data: JSON.stringify({ type: 'depth-config', rate: 5, decimation: 2, color: false }) });
  assert.deepEqual(await waiting, { rate: 5, decimation: 2, color: false, message: null });
  const late = link.setColormap({ colormap: 'gray' });
  link.close();
  await assert.rejects(late, (e) => e.code === 'closed');
});
