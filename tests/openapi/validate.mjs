// validate.mjs - docs/openapi.yaml against the real thing: starts
// porthole-cloud (one open on loopback, one with --auth-secret) and
// porthole-robot, sends every operation of the document (successes and
// errors), and validates each answer's status, media type and body
// (spec.mjs, with ajv). Fails when an answer does not match, when an
// operation of the document was not exercised, and when a deliberately
// broken copy of the document still passes (so this test can fail).
//
//   PORTHOLE_CLOUD=build/porthole-cloud PORTHOLE_ROBOT=build/porthole-robot \
//     tests/netns-run.sh node tests/openapi/validate.mjs
//
// PORTHOLE_TEST_VERBOSE=1 echoes every request and the operation it matched.

import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, getJson, sleep, startCloud, startProcess, waitFor } from '../browser/harness.mjs';
import { viewerToken } from '../browser/jwt.mjs';
import { CLOUD_SERVER, loadYaml, ROBOT_SERVER, Spec } from './spec.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const DOC = join(here, '../../docs/openapi.yaml');
const WEB_ROOT = join(here, '../../web');
const { PORTHOLE_CLOUD: CLOUD_BIN, PORTHOLE_ROBOT: ROBOT_BIN } = process.env;
const verbose = Boolean(process.env.PORTHOLE_TEST_VERBOSE);
const SECRET = 'openapi-test-secret-of-at-least-32-bytes!';

if (!CLOUD_BIN || !ROBOT_BIN) {
  console.error('openapi: FAIL: set PORTHOLE_CLOUD and PORTHOLE_ROBOT (paths of the binaries)');
  process.exit(1);
}
let doc;
try {
  doc = loadYaml(DOC);
} catch (e) {
  if (/No module named 'yaml'|ENOENT/.test(e.message)) {
    console.log(`SKIPPED: python3-yaml is needed to read docs/openapi.yaml (${e.message.split('\n')[0]})`);
    process.exit(77);
  }
  throw e;
}
const watchdog = setTimeout(() => {
  console.error('openapi: FAIL: the run took more than 120 s');
  process.exit(1);
}, 120000);
watchdog.unref();

const spec = new Spec(doc);
assert.deepEqual(spec.problems(), [], 'the document itself is sound');

/** One HTTP request; resolves with {status, type, text, headers}. */
function send(port, method, path, { headers = {}, body, chunked = false } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const h = { ...headers };
    if (data !== undefined) {
      if (chunked) h['transfer-encoding'] = 'chunked';
      else h['content-length'] = Buffer.byteLength(data);
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
    }
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: h, timeout: 15000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'] || '',
        text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 15 s`)));
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

const exercised = new Set();
const failures = [];
const answers = [];

/**
 * Sends a request, checks the answer against the document and that its
 * status is `expect` (so each case proves what it says). Returns the answer
 * (body parsed when JSON).
 */
async function check(target, method, path, expect, opts = {}) {
  const res = await send(target.port, method, path, opts);
  const { operation, errors } = spec.check(target.server, method, path, res);
  if (operation) exercised.add(operation);
  if (res.status !== expect) errors.push(`status ${res.status}, expected ${expect}: ${res.text.slice(0, 300)}`);
  const line = `${target.name} ${method} ${path} -> ${res.status} (${operation ?? 'no operation'})`;
  if (verbose) console.log(`  ${line}`);
  if (errors.length) failures.push(`${line}\n    ${errors.join('\n    ')}`);
  answers.push({ target, method, path, res });
  let body = res.text;
  if (/json/.test(res.type)) try { body = JSON.parse(res.text); } catch { /* reported above */ }
  return { ...res, body };
}

// --- the processes ------------------------------------------------------------------

const cloudPort = await freePort();
const authPort = await freePort();
const apiPort = await freePort();
const tokenPort = await freePort();
const API_TOKEN = 'openapi-test-api-token';
await startCloud({ bin: CLOUD_BIN, port: cloudPort, webRoot: WEB_ROOT });
await startCloud({ bin: CLOUD_BIN, port: authPort, webRoot: WEB_ROOT, extraArgs: ['--auth-secret', SECRET] });
const robotProc = startProcess('robot', ROBOT_BIN, ['--cloud-url', `ws://127.0.0.1:${cloudPort}/ws`,
  '--robot-id', 'robot-1', '--ice-allow', '127.0.0.1', '--log-level', 'warn', '--api-port', String(apiPort)]);
await waitFor(async () => {
  if (!robotProc.running()) throw new Error(`porthole-robot exited:\n${robotProc.log()}`);
  return (await getJson(cloudPort, '/robots')).some((r) => r.robotId === 'robot-1');
}, 15000, 'porthole-robot to register with the cloud');

// A second robot whose API wants a Bearer token (--api-token), for the 401.
const tokenRobotProc = startProcess('robot-2', ROBOT_BIN, ['--cloud-url', `ws://127.0.0.1:${cloudPort}/ws`,
  '--robot-id', 'robot-2', '--ice-allow', '127.0.0.1', '--log-level', 'warn', '--api-port', String(tokenPort),
  '--api-token', API_TOKEN]);
await waitFor(async () => {
  if (!tokenRobotProc.running()) throw new Error(`porthole-robot (robot-2) exited:\n${tokenRobotProc.log()}`);
  return (await send(tokenPort, 'GET', '/api/devices/').catch(() => null))?.status === 401;
}, 15000, 'the second porthole-robot to serve its API');

const robot = { name: 'robot', port: apiPort, server: ROBOT_SERVER };
const tokenRobot = { name: 'robot+token', port: tokenPort, server: ROBOT_SERVER };
const cloud = { name: 'cloud', port: cloudPort, server: CLOUD_SERVER };
const authCloud = { name: 'cloud+auth', port: authPort, server: CLOUD_SERVER };

try {
  // --- the robot's own port ---------------------------------------------------------
  const devices = await check(robot, 'GET', '/api/devices/', 200);
  const S = devices.body[0].device_id;
  const dev = `/api/devices/${S}`;
  const opt = `${dev}/sensors/${S}-sensor-0/options/exposure`;
  await check(robot, 'GET', '/api/devices', 200);
  await check(robot, 'GET', dev, 200);
  await check(robot, 'GET', '/api/devices/12', 404);
  await check(robot, 'GET', `${dev}/sensors/`, 200);
  await check(robot, 'GET', `${dev}/sensors/${S}-sensor-1`, 200);
  await check(robot, 'GET', `${dev}/sensors/${S}-sensor-9`, 404);
  await check(robot, 'GET', `${dev}/sensors/${S}-sensor-0/options/`, 200);
  await check(robot, 'GET', opt, 200);
  await check(robot, 'GET', `${dev}/sensors/${S}-sensor-0/options/exposur`, 404);
  await check(robot, 'PUT', opt, 200, { body: { value: 9000 } });
  await check(robot, 'PUT', opt, 422, { body: { value: 999999 } });
  await check(robot, 'PUT', opt, 422, { body: { value: 'bright' } });
  await check(robot, 'PUT', opt, 415, { body: 'value=1', headers: { 'content-type': 'text/plain' } });
  await check(robot, 'PUT', opt, 400, { body: '{' });
  await check(robot, 'PUT', opt, 413, { body: { value: 1, pad: 'x'.repeat(70000) } });
  await check(robot, 'GET', `${dev}/stream/status`, 200);
  await check(robot, 'POST', `${dev}/stream/stop`, 409);
  const depth = { sensor_id: `${S}-sensor-0`, stream_type: 'depth', format: 'Z16',
    resolution: { width: 640, height: 480 }, framerate: 30 };
  await check(robot, 'POST', `${dev}/stream/start`, 422, { body: { configs: [{ ...depth, format: 'RGB8' }] } });
  await check(robot, 'POST', `${dev}/stream/start`, 200, { body: { configs: [depth] } });
  await check(robot, 'POST', `${dev}/stream/start`, 409, { body: { configs: [depth] } });
  await check(robot, 'GET', `${dev}/stream/status`, 200);
  await check(robot, 'POST', `${dev}/stream/stop`, 200);
  await check(robot, 'POST', `${dev}/point_cloud/activate`, 200);
  // Wait for a processed frame, so the status carries bounds, mean_depth and capture_time_ms.
  await waitFor(async () => (await send(apiPort, 'GET', `${dev}/point_cloud/status`)).text.includes('"bounds"'),
    10000, 'a point cloud frame');
  await check(robot, 'GET', `${dev}/point_cloud/status`, 200);
  await check(robot, 'POST', `${dev}/point_cloud/deactivate`, 200);
  await check(robot, 'GET', '/api/devices/12/point_cloud/status', 404);
  await check(robot, 'POST', `${dev}/hw_reset`, 200);
  const offer = await check(robot, 'POST', '/api/webrtc/offer', 200, { body: { stream_types: ['color'] } });
  const sid = offer.body.session_id;
  await check(robot, 'POST', '/api/webrtc/offer', 422, { body: { stream_types: ['ultraviolet'] } });
  await check(robot, 'POST', '/api/webrtc/offer', 404, { body: { device_id: '12' } });
  await check(robot, 'POST', '/api/webrtc/offer', 400, { body: '{"stream_types": [' });
  await check(robot, 'PATCH', '/api/webrtc/offer', 405);
  await check(robot, 'GET', '/api/webrtc/sessions', 200);
  await check(robot, 'GET', `/api/webrtc/sessions/${sid}`, 200);
  await check(robot, 'GET', '/api/webrtc/sessions/AAAAAAAAAAAAAAAAAAAAAA', 404);
  await check(robot, 'POST', '/api/webrtc/answer', 422, { body: { session_id: sid, sdp: 'not sdp', type: 'answer' } });
  await check(robot, 'POST', '/api/webrtc/answer', 404, { body: { session_id: 'AAAAAAAAAAAAAAAAAAAAAA', sdp: 'v=0', type: 'answer' } });
  await check(robot, 'POST', '/api/webrtc/ice-candidates', 422, { body: { session_id: sid, candidate: 'candidate:junk' } });
  await check(robot, 'POST', '/api/webrtc/ice-candidates', 200, { body: { session_id: sid, candidate: '' } });
  await check(robot, 'POST', '/api/webrtc/ice-candidates', 404, { body: { session_id: 'AAAAAAAAAAAAAAAAAAAAAA', candidate: null } });
  await check(robot, 'DELETE', `/api/webrtc/sessions/${sid}`, 200);
  await check(robot, 'DELETE', `/api/webrtc/sessions/${sid}`, 404);
  await check(robot, 'POST', '/api/webrtc/offer', 200, { body: {} });
  await check(robot, 'DELETE', '/api/webrtc/sessions', 200);
  await check(robot, 'GET', '/api/nothing', 404);
  await check(robot, 'GET', '/api/devices/', 403, { headers: { host: 'rebind.example:8000' } });
  await check(robot, 'GET', '/api/devices/', 403, { headers: { origin: 'https://evil.example' } });
  const unauthorized = await check(tokenRobot, 'GET', '/api/devices/', 401);
  assert.equal(unauthorized.headers['www-authenticate'], 'Bearer');
  await check(tokenRobot, 'GET', '/api/devices/', 401, { headers: { authorization: 'Bearer not-the-token-at-all' } });
  await check(tokenRobot, 'GET', '/api/devices/', 200, { headers: { authorization: `Bearer ${API_TOKEN}` } });

  // --- the cloud ------------------------------------------------------------------------
  await check(cloud, 'GET', '/health', 200);
  await check(cloud, 'GET', '/robots', 200);
  await check(cloud, 'GET', '/metrics', 200);
  await check(cloud, 'GET', '/api/ice-servers', 200);
  await check(cloud, 'POST', '/api/ice-servers', 405);
  await check(cloud, 'GET', '/api/robots', 200);
  await check(cloud, 'GET', '/api/robots/', 200);
  await check(cloud, 'DELETE', '/api/robots', 405);
  await check(cloud, 'GET', '/api/nothing', 404);
  await check(cloud, 'GET', '/porthole.js', 200);
  const dts = await check(cloud, 'GET', '/porthole.d.ts', 200);
  assert.match(dts.type, /^application\/typescript/, 'porthole.d.ts is served as TypeScript');
  assert.match(dts.text, /export declare function connect/);
  await check(cloud, 'GET', '/nothing.html', 404);
  // The robot proxy: the robot's answers (any status) and the cloud's own.
  const via = '/api/robots/robot-1';
  await check(cloud, 'GET', `${via}/devices/`, 200);
  await check(cloud, 'GET', `${via}/devices/${S}/sensors/?verbose=1`, 200);
  await check(cloud, 'PUT', `${via}${opt.slice(4)}`, 200, { body: { value: 8500 } });
  await check(cloud, 'PUT', `${via}${opt.slice(4)}`, 422, { body: { value: -5 } });
  await check(cloud, 'PUT', `${via}${opt.slice(4)}`, 400, { body: '{"value": ' });
  await check(cloud, 'POST', `${via}/webrtc/offer`, 200, { body: { stream_types: ['depth'] } });
  await check(cloud, 'GET', `${via}/webrtc/sessions`, 200);
  await check(cloud, 'DELETE', `${via}/webrtc/sessions`, 200);
  await check(cloud, 'GET', `${via}/nothing`, 404);
  await check(cloud, 'GET', '/api/robots/robot-9/devices/', 503);
  await check(cloud, 'PUT', `${via}${opt.slice(4)}`, 413, { body: { value: 1, pad: 'x'.repeat(70000) } });
  await check(cloud, 'PUT', `${via}${opt.slice(4)}`, 411, { body: { value: 1 }, chunked: true });
  await check(cloud, 'PATCH', `${via}/devices/`, 405);

  // --- the cloud with access control ----------------------------------------------------
  const viewer = { authorization: `Bearer ${viewerToken(SECRET, { scope: 'watch' })}` };
  await check(authCloud, 'GET', '/health', 200);
  await check(authCloud, 'GET', '/robots', 401);
  await check(authCloud, 'GET', '/robots', 200, { headers: viewer });
  await check(authCloud, 'GET', '/robots', 401, { headers: { authorization: 'Bearer not.a.jwt' } });
  await check(authCloud, 'GET', '/metrics', 401);
  await check(authCloud, 'GET', '/metrics', 403, { headers: viewer });
  await check(authCloud, 'GET', '/api/robots', 401);
  await check(authCloud, 'GET', '/api/ice-servers', 401);
  await check(authCloud, 'GET', '/api/ice-servers', 200, { headers: viewer });
  await check(authCloud, 'GET', `${via}/devices/`, 401);
  await check(authCloud, 'GET', `${via}/devices/`, 503, { headers: viewer });
} finally {
  // Processes are killed by the harness at exit.
}

// --- every operation exercised ----------------------------------------------------------
const missing = spec.operations().filter((op) => !exercised.has(op));
if (missing.length) failures.push(`operations of the document no request exercised:\n    ${missing.join('\n    ')}`);

// --- and the check can fail: a broken copy of the document must refuse a real answer ------
const broken = structuredClone(doc);
broken.components.schemas.DeviceInfo.properties.is_streaming = { type: 'string' };
const brokenSpec = new Spec(broken);
const sample = answers.find((a) => a.target === robot && a.path === '/api/devices/' && a.res.status === 200);
const verdict = brokenSpec.check(ROBOT_SERVER, 'GET', '/api/devices/', sample.res);
if (verdict.errors.length === 0) failures.push('a document with a broken DeviceInfo schema accepted the robot\'s answer');
const undocumented = brokenSpec.check(ROBOT_SERVER, 'GET', '/api/devices/', { ...sample.res, status: 418 });
if (undocumented.errors.length === 0) failures.push('a status the document does not list was accepted');

if (failures.length) {
  console.error(`openapi: FAIL: ${failures.length} problem(s):\n  ${failures.join('\n  ')}`);
  process.exit(1);
}
console.log(`openapi: ok: ${answers.length} answers of ${exercised.size} operations match docs/openapi.yaml`);
await sleep(0);
process.exit(0);
