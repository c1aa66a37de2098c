// session.mjs - interop test: a robot and a client written with Node's `ws`
// exactly as the example in docs/PROTOCOL.md, completing one whole session
// (register, create-session, offer, answer, ICE both ways, close) against a
// porthole-cloud that this script starts on a free loopback port.
//
// Environment: PORTHOLE_CLOUD (path of the server binary), and optionally
// PORTHOLE_WEB_ROOT. With PORTHOLE_TLS=1 the server gets a fresh self-signed
// certificate (openssl) and the peers use wss:// and verify it. Needs the `ws` package from the repository's
// node_modules (`npm ci` at the repository root). Exits 0 when the session
// completed, 1 otherwise; every wait is bounded.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const STEP_MS = 5000;   // any single expected message
const TOTAL_MS = 30000; // the whole test

let passed = 0;
let failed = 0;
let cloud = null;
const sockets = [];

function finish(code, why) {
  if (why) console.error(`interop: FAIL: ${why}`);
  for (const ws of sockets) {
    try { ws.terminate(); } catch { /* already closed */ }
  }
  const done = () => {
    console.log(`interop (${tls ? 'wss' : 'ws'}): ${passed} passed, ${failed} failed`);
    process.exit(code);
  };
  if (cloud && cloud.exitCode === null && cloud.signalCode === null) {
    const kill = setTimeout(() => cloud.kill('SIGKILL'), 5000);
    cloud.once('exit', () => { clearTimeout(kill); done(); });
    cloud.kill('SIGTERM');
  } else {
    done();
  }
}

function fail(why) {
  failed++;
  finish(1, why);
}

let WebSocket;
try {
  ({ default: WebSocket } = await import('ws'));
} catch (e) {
  console.error('interop: cannot load the `ws` package; run `npm ci` at the repository root ' +
                `(NODE_PATH=${process.env.NODE_PATH || ''}): ${e.message}`);
  fail('ws is not installed');
}

const bin = process.env.PORTHOLE_CLOUD;
if (!bin) fail('PORTHOLE_CLOUD is not set');

const freePort = () => new Promise((resolve, reject) => {
  const srv = createServer();
  srv.once('error', reject);
  srv.listen(0, '127.0.0.1', () => {
    const { port } = srv.address();
    srv.close(() => resolve(port));
  });
});

// TLS: a throwaway certificate for 127.0.0.1, trusted by the peers only.
const tls = process.env.PORTHOLE_TLS === '1';
let tlsDir = null;
let ca = null;
if (tls) {
  tlsDir = mkdtempSync(join(tmpdir(), 'porthole-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(tlsDir, 'key.pem'), '-out', join(tlsDir, 'cert.pem')], { stdio: 'ignore' });
  ca = readFileSync(join(tlsDir, 'cert.pem'));
  process.on('exit', () => rmSync(tlsDir, { recursive: true, force: true }));
}
const scheme = tls ? 'wss' : 'ws';
const open = (url) => (tls ? new WebSocket(url, { ca }) : new WebSocket(url));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts porthole-cloud and resolves once it accepts TCP (5 s at most).
async function startCloud(port) {
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  if (process.env.PORTHOLE_WEB_ROOT) args.push('--web-root', process.env.PORTHOLE_WEB_ROOT);
  if (tls) args.push('--tls-cert', join(tlsDir, 'cert.pem'), '--tls-key', join(tlsDir, 'key.pem'));
  cloud = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  cloud.on('error', (e) => fail(`cannot start ${bin}: ${e.message}`));
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (cloud.exitCode !== null) throw new Error(`porthole-cloud exited with ${cloud.exitCode}`);
    const ok = await new Promise((resolve) => {
      const s = open(`${scheme}://127.0.0.1:${port}/ws`);
      s.on('open', () => { s.close(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(20);
  }
  throw new Error('porthole-cloud did not accept connections within 5 s');
}

// Collects the messages of one socket; next(type) resolves with the next
// message of that type (others stay queued for their own next()).
function inbox(ws, name) {
  const queue = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) return fail(`${name} received a binary message`);
    const text = data.toString();
    let m;
    try { m = JSON.parse(text); } catch { return fail(`${name} received non-JSON: ${text}`); }
    queue.push({ m, text });
    for (let i = 0; i < waiters.length; i++) {
      const w = waiters[i];
      const at = queue.findIndex((e) => e.m.type === w.type);
      if (at >= 0) {
        waiters.splice(i--, 1);
        clearTimeout(w.timer);
        w.resolve(queue.splice(at, 1)[0]);
      }
    }
  });
  return {
    next(type) {
      const at = queue.findIndex((e) => e.m.type === type);
      if (at >= 0) return Promise.resolve(queue.splice(at, 1)[0]);
      return new Promise((resolve, reject) => {
        const w = { type, resolve };
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`${name}: no '${type}' within ${STEP_MS} ms ` +
                           `(queued: ${queue.map((e) => e.m.type).join(', ') || 'none'})`));
        }, STEP_MS);
        waiters.push(w);
      });
    },
  };
}

function check(cond, what) {
  if (!cond) throw new Error(what);
}

async function session(url) {
  // The example of docs/PROTOCOL.md, with its replies checked.
  const send = (ws, m) => ws.send(JSON.stringify(m));

  const robot = open(url);
  sockets.push(robot);
  const robotIn = inbox(robot, 'robot');
  robot.on('open', () => send(robot, { type: 'robot-register', robotId: 'r1', deviceInfo: { name: 'demo' } }));
  robot.on('message', (d) => {
    const m = JSON.parse(d);
    if (m.type === 'create-session')
      send(robot, { type: 'webrtc-offer', sessionId: m.sessionId, offer: { type: 'offer', sdp: 'v=0...' } });
  });
  const registered = await robotIn.next('registered');
  check(registered.m.robotId === 'r1', `registered for ${registered.m.robotId}`);

  const client = open(url);
  sockets.push(client);
  const clientIn = inbox(client, 'client');
  client.on('open', () => send(client, { type: 'client-register' }));
  client.on('message', (d) => {
    const m = JSON.parse(d);
    if (m.type === 'available-robots' && m.robots.length)
      send(client, { type: 'create-session', robotId: m.robots[0].robotId, streamTypes: ['color'] });
    if (m.type === 'webrtc-offer')
      send(client, { type: 'webrtc-answer', sessionId: m.sessionId, answer: { type: 'answer', sdp: 'v=0...' } });
  });

  const avail = (await clientIn.next('available-robots')).m;
  check(/^client-/.test(avail.clientId), `generated clientId '${avail.clientId}'`);
  check(avail.robots.length === 1 && avail.robots[0].robotId === 'r1', 'available-robots lists r1');
  check(avail.robots[0].deviceInfo?.name === 'demo', 'deviceInfo of r1');

  const created = (await clientIn.next('session-created')).m;
  const sid = created.sessionId;
  check(/^[A-Za-z0-9_-]{22}$/.test(sid), `session id '${sid}'`);
  const cs = (await robotIn.next('create-session')).m;
  check(cs.sessionId === sid && cs.clientId === avail.clientId && cs.deviceId === null &&
        JSON.stringify(cs.streamTypes) === '["color"]', `robot's create-session ${JSON.stringify(cs)}`);

  const offer = (await clientIn.next('webrtc-offer')).m;
  check(offer.sessionId === sid && offer.offer.type === 'offer' && offer.offer.sdp === 'v=0...', 'offer relayed');
  const answer = (await robotIn.next('webrtc-answer')).m;
  check(answer.sessionId === sid && answer.answer.sdp === 'v=0...', 'answer relayed');

  // ICE both ways, in order, ending with null
  const cands = (who) => [0, 1, 2].map((i) => ({
    candidate: `candidate:${i} 1 udp 2122260223 10.0.${who}.${i} 5000${i} typ host`, sdpMid: '0', sdpMLineIndex: 0,
  })).concat([null]);
  for (const c of cands(1)) send(robot, { type: 'ice-candidate', sessionId: sid, candidate: c });
  for (const c of cands(2)) send(client, { type: 'ice-candidate', sessionId: sid, candidate: c });
  for (const c of cands(1)) {
    const m = (await clientIn.next('ice-candidate')).m;
    check(JSON.stringify(m.candidate) === JSON.stringify(c), `client got candidate ${JSON.stringify(m.candidate)}`);
  }
  for (const c of cands(2)) {
    const m = (await robotIn.next('ice-candidate')).m;
    check(JSON.stringify(m.candidate) === JSON.stringify(c), `robot got candidate ${JSON.stringify(m.candidate)}`);
  }

  send(client, { type: 'close-session', sessionId: sid });
  const c1 = (await clientIn.next('session-closed')).m;
  const c2 = (await robotIn.next('session-closed')).m;
  check(c1.sessionId === sid && c1.reason === 'closed-by-client', `client's session-closed ${JSON.stringify(c1)}`);
  check(c2.sessionId === sid && c2.reason === 'closed-by-client', `robot's session-closed ${JSON.stringify(c2)}`);

  // the robot leaving is announced to the client
  robot.close(1000);
  const gone = (await clientIn.next('robot-unavailable')).m;
  check(gone.robotId === 'r1', 'robot-unavailable for r1');
  client.close(1000);
}

const overall = setTimeout(() => fail(`not finished within ${TOTAL_MS} ms`), TOTAL_MS);
try {
  const port = await freePort();
  await startCloud(port);
  await session(`${scheme}://127.0.0.1:${port}/ws`);
  passed++;
  clearTimeout(overall);
  // a clean exit on SIGTERM is part of the contract
  const code = await new Promise((resolve) => {
    const kill = setTimeout(() => { cloud.kill('SIGKILL'); resolve('killed'); }, 5000);
    cloud.once('exit', (c, sig) => { clearTimeout(kill); resolve(sig || c); });
    cloud.kill('SIGTERM');
  });
  if (code !== 0) fail(`porthole-cloud exit status after SIGTERM: ${code}`);
  else finish(0);
} catch (e) {
  clearTimeout(overall);
  fail(e.message);
}
