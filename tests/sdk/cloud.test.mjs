// cloud.test.mjs - Node unit tests of web/porthole.js's Cloud (node --test):
// the URL it connects to, calls made before the connection is open,
// reconnect with backoff, time limits, tokens, and how it treats what the
// cloud sends. A scripted fake WebSocket plays the cloud (fakes.mjs); the
// clock is mocked, so nothing here waits for real time.

import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import {
  backoffDelay, connect, defaultCloudUrl, pageCloudUrl, PortholeError, STREAM_TYPES,
} from '../../web/porthole.js';
import { fakePeerConnectionClass, fakeWebSocketClass, record, useClock } from './fakes.mjs';

const ROBOT = { robotId: 'robot-1', deviceInfo: { name: 'Arm', serial: '123', streams: ['color', 'depth'] },
  connectedAt: '2026-12-07T00:00:00Z' };
const settle = (p) => p.then((value) => ({ value }), (error) => ({ error }));

/** A cloud on a fake WebSocket with a mocked clock. Returns {cloud, WS, clock, events}. */
function setup(t, options = {}, url = 'ws://cloud.test/ws') {
  const clock = useClock(t);
  const WS = fakeWebSocketClass();
  // The robot-offers flow (viewerOffers false): create-session goes out at
  // once, as these tests expect; session.test.mjs covers the viewer's offer.
  const cloud = connect(url, { WebSocket: WS, RTCPeerConnection: fakePeerConnectionClass(), viewerOffers: false, ...options });
  t.after(() => cloud.close());
  const events = record(cloud, ['state', 'error', 'robots', 'message', 'token-refreshed']);
  return { cloud, WS, clock, events };
}

const errors = (events) => events.filter((e) => e.type === 'error').map((e) => e.detail);

// --- importable from Node, the URL -------------------------------------------------

test('the module imports in Node without a browser and exports the SDK', () => {
  assert.equal(typeof connect, 'function');
  assert.deepEqual(STREAM_TYPES, ['color', 'depth', 'infrared-1', 'infrared-2']);
  const e = new PortholeError('timeout', 'late', { a: 1 });
  assert.ok(e instanceof Error);
  assert.deepEqual([e.name, e.code, e.message, e.detail], ['PortholeError', 'timeout', 'late', { a: 1 }]);
});

test('pageCloudUrl is the cloud that served the page; defaultCloudUrl also reads ?cloud=', () => {
  assert.equal(pageCloudUrl(new URL('http://cloud.example:8080/viewer/?cloud=ws://evil/ws')), 'ws://cloud.example:8080/ws');
  assert.equal(pageCloudUrl(new URL('https://cloud.example/')), 'wss://cloud.example/ws');
  assert.equal(pageCloudUrl(new URL('file:///tmp/index.html')), null);
  assert.equal(pageCloudUrl(undefined), null);
  assert.equal(defaultCloudUrl(new URL('http://a.example/?cloud=wss://b.example/ws')), 'wss://b.example/ws');
  assert.equal(defaultCloudUrl(new URL('http://a.example/?cloud=https://b.example')), 'wss://b.example/ws');
  assert.equal(defaultCloudUrl(new URL('http://a.example/?cloud=ftp://b.example')), null);
  assert.equal(defaultCloudUrl(new URL('https://a.example/x')), 'wss://a.example/ws');
});

test('connect() without a URL connects to the cloud that served the page, and ignores ?cloud=', async (t) => {
  const clock = useClock(t);
  const had = Object.getOwnPropertyDescriptor(globalThis, 'location');
  Object.defineProperty(globalThis, 'location', {
    value: new URL('https://robots.example:8443/app/?cloud=wss://elsewhere.example/ws'), configurable: true,
  });
  t.after(() => {
    if (had) Object.defineProperty(globalThis, 'location', had);
    else delete globalThis.location;
  });
  const WS = fakeWebSocketClass();
  for (const cloud of [connect(undefined, { WebSocket: WS }), connect({ WebSocket: WS }), connect(null, { WebSocket: WS })]) {
    assert.equal(cloud.url, 'wss://robots.example:8443/ws');
    t.after(() => cloud.close());
  }
  await clock.settle();
  assert.deepEqual(WS.instances.map((ws) => ws.url), Array(3).fill('wss://robots.example:8443/ws'));
});

test('connect() without a URL and without a page (Node) closes with invalid-argument', async (t) => {
  const clock = useClock(t);
  const WS = fakeWebSocketClass();
  const cloud = connect(undefined, { WebSocket: WS });
  const events = record(cloud, ['state', 'error']);
  await clock.settle();
  assert.equal(cloud.state, 'closed');
  assert.equal(errors(events)[0]?.code, 'invalid-argument');
  assert.match(errors(events)[0].message, /no cloud URL given/);
  assert.equal(WS.instances.length, 0, 'no connection attempted');
});

test('a bad URL closes with invalid-argument, and calls on it fail at once', async (t) => {
  const { cloud, WS, clock, events } = setup(t, {}, 'http://cloud.test/ws');
  const session = cloud.openSession('robot-1');
  const closed = record(session, ['closed']);
  const r = settle(cloud.request('robot-1', 'GET', '/api/devices/'));
  await clock.settle();
  assert.equal(cloud.state, 'closed');
  assert.match(errors(events)[0].message, /not a ws:\/\/ or wss:\/\/ URL/);
  assert.equal(WS.instances.length, 0);
  assert.equal((await r).error.code, 'cloud-unreachable');
  assert.equal(closed[0]?.detail.reason, 'failed');
});

// --- calls before the connection is open -------------------------------------------

test('openSession() before the cloud is open waits for the registration, then asks', async (t) => {
  const { cloud, WS, clock } = setup(t);
  assert.equal(cloud.state, 'connecting');
  const session = cloud.openSession('robot-1', { streamTypes: ['depth'], deviceId: 'cam-0' });
  assert.equal(session.state, 'requesting');
  await clock.settle();
  const ws = WS.last;
  assert.deepEqual(ws.sent.map((m) => m.type), ['client-register'], 'nothing but the registration before it is answered');
  ws.register([ROBOT]);
  assert.equal(cloud.state, 'open');
  assert.deepEqual(ws.sent.slice(1), [{ type: 'create-session', robotId: 'robot-1', streamTypes: ['depth'], deviceId: 'cam-0',
    requestId: 's1' }]);
  ws.deliver({ type: 'session-created', requestId: 's1', sessionId: 'A'.repeat(22) });
  assert.equal(session.id, 'A'.repeat(22));
  assert.equal(session.state, 'negotiating');
});

test('request() before the cloud is open waits for the registration, then resolves with the answer', async (t) => {
  const { cloud, WS, clock } = setup(t);
  const p = cloud.request('robot-1', 'put', '/api/devices/123/sensors/123-sensor-0/options/exposure', { value: 8000 });
  await clock.settle();
  const ws = WS.last;
  assert.equal(ws.ofType('robot-request').length, 0, 'not sent before the registration');
  ws.register([ROBOT]);
  const [req] = ws.ofType('robot-request');
  assert.deepEqual(req, { type: 'robot-request', requestId: req.requestId, robotId: 'robot-1', method: 'PUT',
    path: '/api/devices/123/sensors/123-sensor-0/options/exposure', body: { value: 8000 } });
  ws.deliver({ type: 'robot-response', requestId: req.requestId, robotId: 'robot-1', status: 200, body: { current_value: 8000 } });
  assert.deepEqual(await p, { status: 200, body: { current_value: 8000 }, ok: true });
});

test('calls made while reconnecting wait through failed attempts and go out on the next connection', async (t) => {
  const { cloud, WS, clock } = setup(t, { minBackoffMs: 100, maxBackoffMs: 400 });
  await clock.settle();
  WS.last.register([ROBOT]);
  WS.plan.push('fail', 'fail');
  WS.last.drop();
  assert.equal(cloud.state, 'reconnecting');
  const session = cloud.openSession('robot-1');
  const req = cloud.request('robot-1', 'GET', '/api/devices/');
  const closed = record(session, ['closed']);
  await clock.advance(2000);   // two failed attempts, then one that opens
  assert.equal(WS.instances.length, 4);
  const ws = WS.last;
  assert.equal(closed.length, 0, 'the session is still waiting');
  ws.register([ROBOT]);
  assert.deepEqual(ws.sent.map((m) => m.type), ['client-register', 'create-session', 'robot-request']);
  ws.deliver({ type: 'robot-response', requestId: ws.ofType('robot-request')[0].requestId, status: 404, body: { detail: 'no' } });
  assert.deepEqual(await req, { status: 404, body: { detail: 'no' }, ok: false });
  assert.equal(session.state, 'requesting');
});

test('a request that waits longer than its timeout for the connection rejects cloud-unreachable, saying why', async (t) => {
  const { cloud, WS, clock } = setup(t, { minBackoffMs: 100, maxBackoffMs: 100 });
  WS.plan.push('fail', 'fail', 'fail', 'fail', 'fail', 'fail', 'fail', 'fail');
  const p = settle(cloud.request('robot-1', 'GET', '/api/devices/', undefined, { timeoutMs: 500 }));
  await clock.advance(600);
  const { error } = await p;
  assert.equal(error?.code, 'cloud-unreachable');
  assert.match(error.message, /^GET \/api\/devices\/ to robot-1: not connected to the cloud within 500 ms \(Cannot reach the cloud at ws:\/\/cloud.test\/ws \(code 1006\)\)$/);
  assert.equal(error.detail.timeoutMs, 500);
  assert.ok(WS.instances.every((ws) => ws.sent.length === 0), 'nothing was ever sent');
});

test('a session that waits longer than sessionTimeoutMs for the connection closes with reason timeout', async (t) => {
  const { cloud, WS, clock } = setup(t, { sessionTimeoutMs: 1000 });
  WS.plan.push('hang');
  const session = cloud.openSession('robot-1');
  const seen = record(session, ['error', 'closed']);
  await clock.advance(1100);
  assert.equal(session.state, 'closed');
  assert.equal(seen[0].detail.code, 'cloud-unreachable');
  assert.match(seen[0].detail.message, /^not connected to the cloud within 1 s/);
  assert.equal(seen[1].detail.reason, 'timeout');
  assert.match(seen[1].detail.message, /^Not connected to the cloud within 1 s/);
  assert.equal(cloud.sessions().length, 0);
});

test('a sent request whose connection is lost rejects and is not sent again; a session not yet created is asked again', async (t) => {
  const { cloud, WS, clock } = setup(t, { minBackoffMs: 100, maxBackoffMs: 100 });
  await clock.settle();
  const first = WS.last;
  first.register([ROBOT]);
  const p = settle(cloud.request('robot-1', 'POST', '/api/devices/123/reset'));
  const session = cloud.openSession('robot-1');
  assert.deepEqual(first.sent.map((m) => m.type), ['client-register', 'robot-request', 'create-session']);
  first.drop();
  const { error } = await p;
  assert.equal(error.code, 'cloud-unreachable');
  assert.match(error.message, /^POST \/api\/devices\/123\/reset to robot-1: the cloud connection was lost/);
  await clock.advance(200);
  const second = WS.last;
  assert.notEqual(second, first);
  second.register([ROBOT]);
  assert.deepEqual(second.sent.map((m) => m.type), ['client-register', 'create-session']);
  second.deliver({ type: 'session-created', requestId: second.sent[1].requestId, sessionId: 'B'.repeat(22) });
  assert.equal(session.state, 'negotiating');
});

test('without reconnect, calls waiting for the connection fail when it cannot be made', async (t) => {
  const { cloud, WS, clock } = setup(t, { reconnect: false });
  WS.plan.push('fail');
  const p = settle(cloud.request('robot-1', 'GET', '/api/devices/'));
  const session = cloud.openSession('robot-1');
  const closed = record(session, ['closed']);
  await clock.settle();
  assert.equal(cloud.state, 'closed');
  assert.equal((await p).error.code, 'cloud-unreachable');
  assert.equal(closed[0].detail.reason, 'signaling-lost');
  assert.equal((await settle(cloud.request('robot-1', 'GET', '/api/x'))).error.code, 'cloud-unreachable',
    'after the connection closed for good, a request rejects at once');
});

test('close() rejects waiting requests with closed and ends waiting sessions', async (t) => {
  const { cloud, WS, clock } = setup(t);
  WS.plan.push('hang');
  const p = settle(cloud.request('robot-1', 'GET', '/api/devices/'));
  const session = cloud.openSession('robot-1');
  await clock.settle();
  cloud.close();
  assert.equal((await p).error.code, 'closed');
  assert.equal(session.closeReason, 'closed-by-client');
  assert.equal(cloud.state, 'closed');
});

// --- reconnect and backoff ---------------------------------------------------------

test('backoffDelay is full jitter between min and min * 2^n, capped at max', () => {
  assert.equal(backoffDelay(0, 500, 30000, () => 1), 500);
  assert.equal(backoffDelay(3, 500, 30000, () => 1), 4000);
  assert.equal(backoffDelay(10, 500, 30000, () => 1), 30000);
  assert.equal(backoffDelay(3, 500, 30000, () => 0), 500, 'never below min');
  assert.equal(backoffDelay(3, 500, 30000, () => 0.5), 2000);
  assert.equal(backoffDelay(1e9, 500, 30000, () => 1), 30000, 'a huge attempt number does not overflow');
});

test('lost connections are retried with growing backoff, reset once registered', async (t) => {
  mock.method(Math, 'random', () => 1);
  t.after(() => Math.random.mock.restore());
  const { cloud, WS, clock, events } = setup(t, { minBackoffMs: 100, maxBackoffMs: 1000 });
  WS.plan.push('fail', 'fail', 'fail', 'fail', 'fail');
  await clock.advance(5000);
  const waits = events.filter((e) => e.type === 'state' && e.detail.state === 'reconnecting' && e.detail.retryInMs > 0)
    .map((e) => e.detail.retryInMs);
  assert.deepEqual(waits, [100, 200, 400, 800, 1000]);
  assert.equal(cloud.state, 'connecting', 'never opened yet: still connecting');
  WS.last.register([]);
  assert.equal(cloud.state, 'open');
  WS.last.drop();
  assert.equal(cloud.state, 'reconnecting');
  assert.equal(events.at(-1).detail.retryInMs, 100, 'the backoff starts again after a registration');
  assert.ok(cloud.nextAttemptAt > Date.now());
  const unreachable = errors(events).filter((e) => e.code === 'cloud-unreachable');
  assert.equal(unreachable.length, 6);
  assert.match(unreachable.at(-1).message, /^Lost the connection to the cloud at ws:\/\/cloud.test\/ws \(code 1006\)$/);
});

test('reconnectNow() skips the backoff; reconnect registers again and replaces the robot list', async (t) => {
  const { cloud, WS, clock, events } = setup(t, { minBackoffMs: 60000, maxBackoffMs: 60000 });
  await clock.settle();
  WS.last.register([ROBOT, { robotId: 'robot-2', deviceInfo: {} }]);
  assert.deepEqual(cloud.list().map((r) => r.robotId), ['robot-1', 'robot-2']);
  WS.last.drop();
  await clock.advance(100);
  assert.equal(WS.instances.length, 1, 'waiting out a minute of backoff');
  cloud.reconnectNow();
  await clock.settle();
  assert.equal(WS.instances.length, 2);
  WS.last.register([ROBOT]);
  assert.equal(cloud.robots.get('robot-2').online, false, 'a robot gone meanwhile turns offline');
  assert.ok(events.some((e) => e.type === 'robots'));
});

test('no answer to client-register within registerTimeoutMs: the connection is dropped and retried', async (t) => {
  const { cloud, WS, clock, events } = setup(t, { registerTimeoutMs: 1000, minBackoffMs: 100, maxBackoffMs: 100 });
  await clock.advance(1100);
  assert.equal(WS.instances[0].readyState, 3);
  assert.ok(errors(events).some((e) => e.code === 'timeout' && /did not answer client-register/.test(e.message)));
  await clock.advance(200);
  assert.equal(WS.instances.length, 2);
  assert.equal(cloud.state, 'connecting');
});

// --- robot request time limits and answers -----------------------------------------

test('a sent request without an answer rejects timeout; a late answer is flagged', async (t) => {
  const { cloud, WS, clock, events } = setup(t, { requestTimeoutMs: 300 });
  await clock.settle();
  WS.last.register([ROBOT]);
  const p = settle(cloud.request('robot-1', 'GET', '/api/devices/'));
  await clock.advance(400);
  const { error } = await p;
  assert.equal(error.code, 'timeout');
  assert.equal(error.message, 'GET /api/devices/ to robot-1: no answer within 300 ms');
  WS.last.deliver({ type: 'robot-response', requestId: error.detail.requestId, status: 200, body: {} });
  assert.match(errors(events).at(-1).message, /no request waiting/);
});

test('bad request arguments reject invalid-argument and send nothing', async (t) => {
  const { cloud, WS, clock } = setup(t);
  await clock.settle();
  WS.last.register([]);
  const bad = await Promise.all([
    cloud.request('robot 1', 'GET', '/api/x'), cloud.request('robot-1', 'PATCH', '/api/x'),
    cloud.request('robot-1', 'GET', '/x'), cloud.request('robot-1', 'GET', '/api/a b'),
    cloud.request('robot-1', 'PUT', '/api/x', { n: 1n }), cloud.request('robot-1', 'PUT', '/api/x', 'x'.repeat(70000)),
    cloud.request('robot-1', 'GET', '/api/x', undefined, { timeoutMs: -1 }),
  ].map(settle));
  for (const r of bad) assert.equal(r.error?.code, 'invalid-argument', JSON.stringify(r));
  assert.equal(WS.last.ofType('robot-request').length, 0);
});

test('a malformed answer rejects protocol; a cloud refusal rejects cloud-error', async (t) => {
  const { cloud, WS, clock } = setup(t);
  await clock.settle();
  const ws = WS.last;
  ws.register([ROBOT]);
  const a = settle(cloud.request('robot-1', 'GET', '/api/a'));
  const b = settle(cloud.request('robot-1', 'GET', '/api/b'));
  const c = settle(cloud.request('robot-1', 'GET', '/api/c'));
  const [qa, qb, qc] = ws.ofType('robot-request').map((m) => m.requestId);
  ws.deliver({ type: 'robot-response', requestId: qa, status: 99 });
  ws.deliver({ type: 'robot-response', requestId: qb, robotId: 'robot-2', status: 200 });
  ws.deliver({ type: 'error', code: 'rate-limited', message: 'slow down', requestType: 'robot-request', requestId: qc });
  assert.equal((await a).error.code, 'protocol');
  assert.equal((await b).error.code, 'protocol');
  const { error } = await c;
  assert.equal(error.code, 'cloud-error');
  assert.equal(error.detail.code, 'rate-limited');
});

// --- tokens --------------------------------------------------------------------------

test('a token goes in client-register only: not in options, events or errors', async (t) => {
  const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2In0.c2ln';
  const { cloud, WS, clock, events } = setup(t, { token });
  await clock.settle();
  assert.equal(WS.last.sent[0].token, token);
  assert.ok(!WS.last.url.includes(token), 'not in the URL');
  assert.ok(!JSON.stringify(cloud.options).includes(token), 'not in cloud.options');
  WS.last.register([ROBOT]);
  WS.last.drop();
  await clock.settle();
  assert.ok(!JSON.stringify(events.map((e) => [e.detail, e.detail?.message])).includes(token), 'not in any event');
});

test('a refused token: state unauthorized, waiting calls fail unauthorized, no reconnect until setToken()', async (t) => {
  const { cloud, WS, clock, events } = setup(t, { token: 'old' });
  const session = cloud.openSession('robot-1');
  const p = settle(cloud.request('robot-1', 'GET', '/api/devices/'));
  await clock.settle();
  const ws = WS.last;
  ws.deliver({ type: 'error', code: 'unauthorized', reason: 'token-expired', error: 'token expired', requestType: 'client-register' });
  assert.equal(cloud.state, 'unauthorized');
  assert.equal(cloud.authReason, 'token-expired');
  assert.equal(session.closeReason, 'unauthorized');
  const { error } = await p;
  assert.equal(error.code, 'unauthorized');
  assert.equal(error.detail.reason, 'token-expired');
  ws.drop(1008);
  await clock.advance(60000);
  assert.equal(WS.instances.length, 1, 'no reconnect with the refused token');
  assert.equal((await settle(cloud.request('robot-1', 'GET', '/api/x'))).error.code, 'unauthorized');
  assert.equal(cloud.openSession('robot-1').state, 'requesting');
  cloud.setToken('new');
  await clock.settle();
  assert.equal(WS.instances.length, 2);
  assert.equal(WS.last.sent[0].token, 'new');
  WS.last.register([ROBOT]);
  assert.equal(cloud.state, 'open');
  assert.ok(errors(events).some((e) => e.code === 'unauthorized'));
});

test('a token function is asked at connect and at expiry; its answer goes as refresh-token', async (t) => {
  const asked = [];
  const { cloud, WS, clock, events } = setup(t, {
    token: async ({ reason }) => { asked.push(reason); return `tok-${asked.length}`; },
  });
  await clock.settle();
  assert.equal(WS.last.sent[0].token, 'tok-1');
  WS.last.register([]);
  WS.last.deliver({ type: 'error', code: 'token-expired', graceSeconds: 30 });
  await clock.settle();
  assert.deepEqual(asked, ['connect', 'expired']);
  assert.deepEqual(WS.last.ofType('refresh-token'), [{ type: 'refresh-token', token: 'tok-2' }]);
  WS.last.deliver({ type: 'token-refreshed', expiresAt: 1900000000 });
  assert.equal(cloud.tokenExpiresAt, 1900000000);
  assert.deepEqual(events.filter((e) => e.type === 'token-refreshed').map((e) => e.detail), [{ expiresAt: 1900000000 }]);
});

test('a fixed token that expires is reported as token-expired, not refreshed', async (t) => {
  const { WS, clock, events } = setup(t, { token: 'fixed' });
  await clock.settle();
  WS.last.register([]);
  WS.last.deliver({ type: 'error', code: 'token-expired', graceSeconds: 30 });
  await clock.settle();
  const e = errors(events).at(-1);
  assert.equal(e.code, 'token-expired');
  assert.equal(e.detail.graceSeconds, 30);
  assert.equal(WS.last.ofType('refresh-token').length, 0);
});

test('a token function that fails gives token-unavailable and a retry; one returning a number is refused locally', async (t) => {
  let n = 0;
  const { cloud, WS, clock, events } = setup(t, {
    minBackoffMs: 100, maxBackoffMs: 100,
    token: () => { n++; if (n === 1) throw new Error('offline'); return 42; },
  });
  await clock.settle();
  assert.equal(errors(events)[0].code, 'token-unavailable');
  assert.equal(WS.instances.length, 0, 'no socket without a token');
  await clock.advance(200);
  assert.equal(cloud.state, 'unauthorized');
  assert.equal(cloud.authReason, 'invalid-token');
  assert.equal(WS.instances.length, 0);
});

test('setToken() while open sends refresh-token; a bad setToken() argument is an error', async (t) => {
  const { cloud, WS, clock, events } = setup(t);
  await clock.settle();
  WS.last.register([]);
  cloud.setToken('fresh');
  await clock.settle();
  assert.deepEqual(WS.last.ofType('refresh-token'), [{ type: 'refresh-token', token: 'fresh' }]);
  cloud.setToken(42);
  await clock.settle();
  assert.equal(errors(events).at(-1).code, 'invalid-argument');
});

// --- what the cloud sends ------------------------------------------------------------

test('invalid messages are reported as protocol errors and ignored; the connection stays', async (t) => {
  const { cloud, WS, clock, events } = setup(t);
  await clock.settle();
  const ws = WS.last;
  ws.register([ROBOT, { robotId: 'bad id!' }, 'junk']);
  const before = errors(events).length;
  ws.deliver('not json');
  ws.deliver('[1,2]');
  ws.deliver({ notype: 1 });
  ws.deliver({ type: '' });
  ws.onmessage({ data: new ArrayBuffer(4) });
  ws.deliver({ type: 'available-robots', robots: 'x' });
  ws.deliver({ type: 'robot-available', robotId: '../x' });
  ws.deliver({ type: 'session-created', requestId: 's1', sessionId: 'short' });
  ws.deliver({ type: 'webrtc-offer' });
  ws.deliver({ type: 'token-refreshed', expiresAt: 'soon' });
  ws.deliver({ type: 'session-error', error: 'x' });
  const found = errors(events).slice(before);
  assert.equal(found.length, 11, found.map((e) => e.message).join('\n'));
  assert.ok(found.every((e) => e.code === 'protocol' && e.message.startsWith('ignored a message from the cloud')));
  assert.equal(errors(events).slice(0, before).filter((e) => e.code === 'protocol').length, 2, 'two bad robot entries');
  assert.deepEqual(cloud.list().map((r) => r.robotId), ['robot-1']);
  assert.equal(cloud.state, 'open');
  assert.equal(ws.readyState, 1);
});

test('unknown message types are passed on as message events, without an error', async (t) => {
  const { WS, clock, events } = setup(t);
  await clock.settle();
  WS.last.register([]);
  const before = errors(events).length;
  WS.last.deliver({ type: 'something-new', x: 1 });
  assert.equal(errors(events).length, before);
  assert.deepEqual(events.at(-1), { type: 'message', detail: { type: 'something-new', x: 1 } });
});

test('robot list: available, unavailable, RobotInfo read defensively', async (t) => {
  const { cloud, WS, clock } = setup(t);
  await clock.settle();
  WS.last.register([ROBOT]);
  WS.last.deliver({ type: 'robot-available', robotId: 'robot-0', deviceInfo: { name: 7, streams: 'color' } });
  const r0 = cloud.robots.get('robot-0');
  assert.deepEqual([r0.name, r0.serial, r0.streams], ['7', '', STREAM_TYPES.slice()]);
  WS.last.deliver({ type: 'robot-unavailable', robotId: 'robot-1' });
  const r1 = cloud.robots.get('robot-1');
  assert.equal(r1.online, false);
  assert.equal(typeof r1.offlineSince, 'number');
  assert.deepEqual(cloud.list().map((r) => r.robotId), ['robot-0', 'robot-1'], 'online first');
});
