// clients.mjs - Socket.IO interop test: socket.io-client 4.8 (npm, pinned)
// as robot and viewer over WebSocket, long-polling and polling upgraded to
// WebSocket, against the real porthole-cloud; sessions between a Socket.IO
// robot and a native (`ws`) viewer and the reverse; acknowledgements;
// Engine.IO pings with short intervals; a peer that never answers a ping;
// tokens in CONNECT's auth payload and in the Authorization header.
//
// Environment: PORTHOLE_CLOUD (the server binary), PORTHOLE_WEB_ROOT,
// NODE_PATH (the repository's node_modules). Exits 0 when every case
// passed; every wait is bounded.

import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';

const STEP_MS = 5000;
let failed = 0;
let passed = 0;
const clouds = [];
const closers = [];

const { io } = await import('socket.io-client');
const { default: WebSocket } = await import('ws');

const bin = process.env.PORTHOLE_CLOUD;
if (!bin) {
  console.error('socketio: PORTHOLE_CLOUD is not set');
  process.exit(1);
}

// Ends every peer, then stops the clouds: each must exit 0 (under the
// asan variant that includes LeakSanitizer) within 10 s.
async function finish(code) {
  for (const c of closers) { try { c(); } catch { /* gone */ } }
  for (const c of clouds) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise(r => c.once('exit', (rc, sig) => r(sig ? 128 : rc)));
    c.kill('SIGTERM');
    const rc = await Promise.race([exited, new Promise(r => setTimeout(() => r('timeout'), 10000))]);
    if (rc !== 0) {
      console.log(`not ok - the cloud exited with ${rc}`);
      failed++;
      code = 1;
      c.kill('SIGKILL');
    }
  }
  console.log(`socketio: ${passed} passed, ${failed} failed`);
  process.exit(code);
}
setTimeout(() => { console.error('socketio: FAIL: the whole test took too long'); failed++; finish(1); },
  90000).unref();
process.on('unhandledRejection', (e) => { console.error(`socketio: FAIL: ${e.stack || e}`); failed++; finish(1); });

const freePort = () => new Promise((resolve, reject) => {
  const srv = createServer();
  srv.once('error', reject);
  srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
});

async function startCloud(extra = []) {
  const port = await freePort();
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--sio-ping-interval', '1000',
    '--sio-ping-timeout', '1000', ...extra];
  if (process.env.PORTHOLE_WEB_ROOT) args.push('--web-root', process.env.PORTHOLE_WEB_ROOT);
  const cloud = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  clouds.push(cloud);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${url}/health`)).ok) return { url, port, cloud }; } catch { /* not yet */ }
    await new Promise(r => setTimeout(r, 50));
  }
  throw new Error('the cloud did not start');
}

function within(promise, what, ms = STEP_MS) {
  let t;
  return Promise.race([promise, new Promise((_, rej) => {
    t = setTimeout(() => rej(new Error(`timed out waiting for ${what}`)), ms);
  })]).finally(() => clearTimeout(t));
}

// A Socket.IO peer: every event it gets is queued, `next(type)` takes the
// first one of that type.
function sioPeer(url, transports, opts = {}) {
  const s = io(url, { transports, reconnection: false, forceNew: true, ...opts });
  closers.push(() => s.disconnect());
  const queue = [];
  const waiters = [];
  const connected = new Promise((res, rej) => { s.on('connect', res); s.on('connect_error', rej); });
  connected.catch(() => {});
  s.onAny((type, data) => {
    const w = waiters.findIndex(x => x.type === type);
    if (w >= 0) waiters.splice(w, 1)[0].resolve(data);
    else queue.push({ type, data });
  });
  return {
    s,
    connected: () => within(connected, 'connect'),
    next(type) {
      const i = queue.findIndex(x => x.type === type);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0].data);
      return within(new Promise(resolve => waiters.push({ type, resolve })), type);
    },
    emit: (type, data) => s.emit(type, data),
  };
}

// A native peer (docs/PROTOCOL.md) over `ws`.
async function nativePeer(port) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  closers.push(() => ws.terminate());
  const queue = [];
  const waiters = [];
  ws.on('message', raw => {
    const m = JSON.parse(raw.toString());
    const w = waiters.findIndex(x => x.type === m.type);
    if (w >= 0) waiters.splice(w, 1)[0].resolve(m);
    else queue.push(m);
  });
  await within(new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); }), 'open');
  return {
    ws,
    next(type) {
      const i = queue.findIndex(x => x.type === type);
      if (i >= 0) return Promise.resolve(queue.splice(i, 1)[0]);
      return within(new Promise(resolve => waiters.push({ type, resolve })), type);
    },
    emit: (type, data) => ws.send(JSON.stringify({ type, ...data })),
  };
}

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${e.stack || e}`);
  }
}

function assert(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
}

const OFFER = { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n' };
const ANSWER = { type: 'answer', sdp: 'v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\n' };
const CAND = { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0',
  sdpMLineIndex: 0 };

// One whole session between robot and viewer, either kind of peer.
async function session(robot, viewer, robotId) {
  viewer.emit('create-session', { robotId, streamTypes: ['color'], requestId: 'q1' });
  const created = await viewer.next('session-created');
  assert(created.robotId === robotId && created.requestId === 'q1', 'session-created');
  const cs = await robot.next('create-session');
  assert(cs.sessionId === created.sessionId && cs.streamTypes[0] === 'color', 'create-session');
  const sessionId = cs.sessionId;
  robot.emit('webrtc-offer', { sessionId, offer: OFFER });
  const offer = await viewer.next('webrtc-offer');
  assert(offer.offer.sdp === OFFER.sdp && offer.sessionId === sessionId, 'offer relayed');
  viewer.emit('webrtc-answer', { sessionId, answer: ANSWER });
  const answer = await robot.next('webrtc-answer');
  assert(answer.answer.sdp === ANSWER.sdp, 'answer relayed');
  viewer.emit('ice-candidate', { sessionId, candidate: CAND });
  assert((await robot.next('ice-candidate')).candidate.candidate === CAND.candidate, 'ice to robot');
  robot.emit('ice-candidate', { sessionId, candidate: CAND });
  assert((await viewer.next('ice-candidate')).candidate.sdpMid === '0', 'ice to viewer');
  viewer.emit('switch-stream-type', { sessionId, streamTypes: ['depth'] });
  assert((await robot.next('switch-stream-type')).streamTypes[0] === 'depth', 'switch relayed');
  viewer.emit('close-session', { sessionId });
  assert((await robot.next('session-closed')).sessionId === sessionId, 'robot told of the close');
}

const { url, port } = await startCloud();

for (const [rt, vt] of [[['websocket'], ['polling', 'websocket']], [['polling'], ['websocket']],
                        [['polling', 'websocket'], ['polling']]]) {
  await check(`Socket.IO robot (${rt}) and Socket.IO viewer (${vt})`, async () => {
    const id = `r-${rt.join('-')}`;
    const robot = sioPeer(url, rt);
    await robot.connected();
    robot.emit('robot-register', { robotId: id, deviceInfo: { name: 'sim' } });
    await robot.next('registered').catch(() => null);
    const viewer = sioPeer(url, vt);
    await viewer.connected();
    viewer.emit('client-register', { clientId: `v-${vt.join('-')}` });
    const list = await viewer.next('available-robots');
    assert(Array.isArray(list), 'available-robots is a bare array');
    assert(list.some(r => r.robotId === id && r.deviceInfo.name === 'sim'), 'robot listed');
    await session(robot, viewer, id);
    if (vt.includes('websocket') && vt.length > 1) {
      await within((async () => {
        while (viewer.s.io.engine.transport.name !== 'websocket') await new Promise(r => setTimeout(r, 50));
      })(), 'the upgrade to websocket');
    }
    robot.s.disconnect();
    const gone = await viewer.next('robot-unavailable');
    assert(gone.robotId === id, 'robot-unavailable');
    viewer.s.disconnect();
  });
}

await check('Socket.IO robot (polling) with a native viewer', async () => {
  const robot = sioPeer(url, ['polling']);
  await robot.connected();
  robot.emit('robot-register', { robotId: 'r-sio', deviceInfo: { name: 'sio' } });
  const viewer = await nativePeer(port);
  // The robot's registration may still be on its way: wait for it to be listed.
  viewer.emit('client-register', { clientId: 'v-native' });
  let list = (await viewer.next('available-robots')).robots;
  if (!list.some(r => r.robotId === 'r-sio')) await viewer.next('robot-available');
  await session(robot, viewer, 'r-sio');
  robot.s.disconnect();
  viewer.ws.close();
});

await check('native robot with a Socket.IO viewer (websocket)', async () => {
  const robot = await nativePeer(port);
  robot.emit('robot-register', { robotId: 'r-native', deviceInfo: { name: 'native' } });
  await robot.next('registered');
  const viewer = sioPeer(url, ['websocket']);
  await viewer.connected();
  viewer.emit('client-register', { clientId: 'v-sio' });
  const list = await viewer.next('available-robots');
  assert(list.some(r => r.robotId === 'r-native'), 'native robot listed to Socket.IO viewer');
  await session(robot, viewer, 'r-native');
  robot.ws.close();
  viewer.s.disconnect();
});

await check('acknowledgements come after the cloud handled the message', async () => {
  const viewer = sioPeer(url, ['websocket']);
  await viewer.connected();
  const ack = await within(viewer.s.emitWithAck('client-register', { clientId: 'v-ack' }), 'ack');
  assert(ack === undefined, 'the ack carries no argument');
  // An error for the message is queued before its ack.
  const order = [];
  viewer.s.on('error', () => order.push('error'));
  await within(viewer.s.emitWithAck('no-such-type', {}), 'ack').then(() => order.push('ack'));
  assert(order.join() === 'error,ack', `error before ack, got ${order}`);
  viewer.s.disconnect();
});

await check('pings every second keep an idle polling session and a websocket session', async () => {
  const a = sioPeer(url, ['polling']);
  const b = sioPeer(url, ['websocket']);
  await a.connected();
  await b.connected();
  let pings = 0;
  a.s.io.engine.on('ping', () => pings++);
  await new Promise(r => setTimeout(r, 3500));
  assert(a.s.connected && b.s.connected, 'still connected');
  assert(pings >= 2, `pings seen: ${pings}`);
  a.s.disconnect();
  b.s.disconnect();
});

await check('a peer that never answers a ping is closed', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  closers.push(() => ws.terminate());
  const first = await within(new Promise(r => ws.once('message', d => r(d.toString()))), 'open');
  const open = JSON.parse(first.slice(1));
  assert(first[0] === '0' && open.pingInterval === 1000 && open.pingTimeout === 1000 &&
         open.upgrades.length === 0 && open.maxPayload === 65536, `open packet ${first}`);
  ws.send('40');
  await within(new Promise(r => ws.on('close', r)), 'the close', 10000);
});

await check('unknown namespace gets CONNECT_ERROR', async () => {
  const s = io(`${url}/admin`, { transports: ['websocket'], reconnection: false, forceNew: true });
  closers.push(() => s.disconnect());
  const err = await within(new Promise(r => s.on('connect_error', r)), 'connect_error');
  assert(err.message === 'Invalid namespace', err.message);
  s.disconnect();
});

// Tokens: a cloud with an HS256 secret; the token in CONNECT's auth, or
// in the Authorization header of a Node client.
const secret = 'socketio-test-secret-0123456789abcdef';
const mint = (...args) => execFileSync(bin, ['token', '--auth-secret', secret, ...args]).toString().trim();
const protectedCloud = await startCloud(['--auth-secret', secret]);
await check('tokens: in auth, in the Authorization header, and refused without', async () => {
  const u = protectedCloud.url;
  const robot = sioPeer(u, ['websocket'], { auth: { token: mint('--role', 'robot', '--robot-id', 'r-tok') } });
  await robot.connected();
  robot.emit('robot-register', { robotId: 'r-tok', deviceInfo: {} });
  await robot.next('registered');
  const viewer = sioPeer(u, ['polling'], {
    extraHeaders: { Authorization: `Bearer ${mint('--role', 'viewer', '--robots', '*')}` } });
  await viewer.connected();
  viewer.emit('client-register', { clientId: 'v-tok' });
  assert((await viewer.next('available-robots')).some(r => r.robotId === 'r-tok'), 'listed');
  const stranger = sioPeer(u, ['websocket']);
  await stranger.connected();
  stranger.emit('robot-register', { robotId: 'r-x', deviceInfo: {} });
  const err = await stranger.next('error');
  assert(err.code === 'unauthorized', `refused: ${JSON.stringify(err)}`);
  for (const p of [robot, viewer, stranger]) p.s.disconnect();
});

await finish(failed ? 1 : 0);
