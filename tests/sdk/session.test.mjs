// session.test.mjs - Node unit tests of web/porthole.js's Session (node
// --test): negotiation with a fake RTCPeerConnection, candidates, stream
// switches, time limits, signaling loss, stats. The cloud is the scripted
// fake WebSocket of fakes.mjs; the clock is mocked.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect } from '../../web/porthole.js';
import { fakePeerConnectionClass, fakeWebSocketClass, record, useClock } from './fakes.mjs';

const SID = 'S'.repeat(22);
const OFFER = { type: 'offer', sdp: 'v=0\r\noffer\r\n' };
const settle = (p) => p.then((value) => ({ value }), (error) => ({ error }));

/** An open cloud and a session the cloud has created. Returns {cloud, session, ws, PC, clock, seen}. */
async function created(t, options = {}) {
  const clock = useClock(t);
  const WS = fakeWebSocketClass();
  const PC = fakePeerConnectionClass();
  // These tests are the robot-offers flow (viewerOffers false); the
  // viewer-offers flow has its own below.
  const cloud = connect('ws://cloud.test/ws', { WebSocket: WS, RTCPeerConnection: PC, viewerOffers: false, ...options });
  t.after(() => cloud.close());
  await clock.settle();
  const ws = WS.last;
  ws.register([{ robotId: 'robot-1', deviceInfo: {} }]);
  const session = cloud.openSession('robot-1', { streamTypes: ['color'] });
  const seen = record(session, ['state', 'error', 'closed', 'streamtypes', 'signaling', 'telemetry']);
  ws.deliver({ type: 'session-created', requestId: ws.ofType('create-session')[0].requestId, sessionId: SID,
    iceServers: [{ urls: 'stun:stun.example:3478' }, { urls: 'http://no' }, 'junk'] });
  return { cloud, session, ws, WS, PC, clock, seen };
}

/** ... and negotiated and connected. */
async function connected(t, options) {
  const c = await created(t, options);
  c.ws.deliver({ type: 'webrtc-offer', sessionId: SID, offer: OFFER });
  await c.clock.settle();
  c.PC.instances[0].setConnectionState('connected');
  return c;
}

const states = (seen) => seen.filter((e) => e.type === 'state').map((e) => e.detail.state);

test('the robot\'s offer is answered; the cloud\'s ICE servers are used, the invalid ones left out', async (t) => {
  const { session, ws, PC, clock, seen } = await created(t);
  ws.deliver({ type: 'webrtc-offer', sessionId: SID, offer: OFFER });
  await clock.settle();
  const pc = PC.instances[0];
  assert.deepEqual(pc.config.iceServers, [{ urls: ['stun:stun.example:3478'] }]);
  assert.deepEqual(ws.ofType('webrtc-answer'), [{ type: 'webrtc-answer', sessionId: SID,
    answer: { type: 'answer', sdp: 'v=0\r\nanswer\r\n' } }]);
  pc.setConnectionState('connected');
  assert.deepEqual(states(seen), ['negotiating', 'connecting', 'connected']);
  assert.equal(session.peerConnection, pc);
});

test('candidates go both ways; a bad candidate is a protocol error that keeps the session', async (t) => {
  const { cloud, session, ws, PC, clock } = await created(t);
  const cloudErrors = record(cloud, ['error']);
  ws.deliver({ type: 'webrtc-offer', sessionId: SID, offer: OFFER });
  await clock.settle();
  const pc = PC.instances[0];
  ws.deliver({ type: 'ice-candidate', sessionId: SID, candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' } });
  ws.deliver({ type: 'ice-candidate', sessionId: SID, candidate: 5 });
  ws.deliver({ type: 'ice-candidate', sessionId: SID, candidate: null });
  await clock.settle();
  assert.equal(pc.candidates[0].sdpMid, '0');
  assert.equal(pc.candidates[1], null, 'end of candidates');
  assert.equal(cloudErrors[0].detail.code, 'protocol');
  pc.onicecandidate({ candidate: { candidate: 'candidate:2', sdpMid: '0', sdpMLineIndex: 0 } });
  assert.deepEqual(ws.ofType('ice-candidate').at(-1), { type: 'ice-candidate', sessionId: SID,
    candidate: { candidate: 'candidate:2', sdpMid: '0', sdpMLineIndex: 0 } });
  assert.equal(session.state, 'connecting');
});

test('an unparsable offer ends the session connection-failed and tells the cloud', async (t) => {
  const { session, ws, clock, seen } = await created(t);
  ws.deliver({ type: 'webrtc-offer', sessionId: SID, offer: { type: 'offer', sdp: 'garbage' } });
  await clock.settle();
  assert.equal(session.state, 'closed');
  assert.equal(seen.find((e) => e.type === 'closed').detail.reason, 'connection-failed');
  assert.deepEqual(ws.ofType('close-session'), [{ type: 'close-session', sessionId: SID }]);
});

test('no offer within offerTimeoutMs: the session closes with reason timeout', async (t) => {
  const { session, ws, clock, seen } = await created(t, { offerTimeoutMs: 500 });
  await clock.advance(600);
  assert.equal(session.state, 'closed');
  const closed = seen.find((e) => e.type === 'closed').detail;
  assert.equal(closed.reason, 'timeout');
  assert.equal(closed.error.code, 'timeout');
  assert.match(closed.message, /The robot sent no offer in time/);
  assert.equal(ws.ofType('close-session').length, 1);
});

test('switchStream resolves when the robot confirms and rejects when it refuses or is too slow', async (t) => {
  const { session, ws, clock, seen } = await connected(t, { switchTimeoutMs: 500 });
  const ok = session.switchStream('depth');
  assert.deepEqual(ws.ofType('switch-stream-type').at(-1), { type: 'switch-stream-type', sessionId: SID, streamTypes: ['depth'] });
  ws.deliver({ type: 'stream-type-switched', sessionId: SID, streamTypes: ['depth'] });
  assert.deepEqual(await ok, ['depth']);
  assert.deepEqual(session.streamTypes, ['depth']);
  const refused = settle(session.switchStream('infrared-1'));
  ws.deliver({ type: 'stream-type-switch-error', sessionId: SID, error: 'no such stream' });
  assert.equal((await refused).error.code, 'switch-failed');
  const slow = settle(session.switchStream('color'));
  await clock.advance(600);
  assert.equal((await slow).error.code, 'timeout');
  assert.equal((await settle(session.switchStream('bad type!'))).error.code, 'invalid-argument');
  assert.ok(seen.some((e) => e.type === 'streamtypes'));
  assert.equal(session.state, 'connected');
});

test('before the cloud created it, switchStream rejects signaling-unavailable', async (t) => {
  const clock = useClock(t);
  const WS = fakeWebSocketClass();
  const cloud = connect('ws://cloud.test/ws', { WebSocket: WS, RTCPeerConnection: fakePeerConnectionClass(), viewerOffers: false });
  t.after(() => cloud.close());
  const session = cloud.openSession('robot-1');
  await clock.settle();
  assert.equal((await settle(session.switchStream('depth'))).error.code, 'signaling-unavailable');
});

test('signaling lost while the video plays: the session is detached and keeps its peer connection', async (t) => {
  const { session, ws, PC, seen } = await connected(t);
  ws.drop();
  assert.equal(session.state, 'connected');
  assert.equal(session.signaling, 'detached');
  assert.deepEqual(seen.find((e) => e.type === 'signaling').detail, { signaling: 'detached' });
  assert.equal(PC.instances[0].closed, false);
  assert.equal((await settle(session.switchStream('depth'))).error.code, 'signaling-unavailable');
});

test('signaling lost before media flows: the session ends signaling-lost', async (t) => {
  const { session, ws, seen } = await created(t);
  ws.drop();
  assert.equal(session.state, 'closed');
  assert.equal(seen.find((e) => e.type === 'closed').detail.reason, 'signaling-lost');
});

test('session-closed from the cloud ends the session with its reason; close() tells the cloud once', async (t) => {
  const a = await connected(t);
  a.ws.deliver({ type: 'session-closed', sessionId: SID, reason: 'peer-disconnected' });
  const closed = a.seen.find((e) => e.type === 'closed').detail;
  assert.equal(closed.reason, 'peer-disconnected');
  assert.equal(closed.message, 'The robot went offline; the session ended.');
  assert.equal(a.PC.instances[0].closed, true);
  assert.equal(a.cloud.sessions().length, 0);
  const s2 = a.cloud.openSession('robot-1');
  a.ws.deliver({ type: 'session-created', requestId: a.ws.ofType('create-session').at(-1).requestId, sessionId: 'T'.repeat(22) });
  s2.close();
  s2.close();
  assert.deepEqual(a.ws.ofType('close-session'), [{ type: 'close-session', sessionId: 'T'.repeat(22) }]);
  assert.equal(s2.closeReason, 'closed-by-client');
});

test('a session-error from the robot before media ends the session with the robot\'s words', async (t) => {
  const { session, ws, seen } = await created(t);
  ws.deliver({ type: 'session-error', sessionId: SID, error: 'camera busy' });
  assert.equal(session.state, 'closed');
  const closed = seen.find((e) => e.type === 'closed').detail;
  assert.equal(closed.reason, 'session-error');
  assert.equal(closed.message, 'The robot could not start the session: camera busy');
});

test('session-error for the request: robot-not-found and session-limit become the close reason', async (t) => {
  const { cloud, ws } = await created(t);
  const s = cloud.openSession('robot-9');
  ws.deliver({ type: 'session-error', requestId: ws.ofType('create-session').at(-1).requestId, code: 'robot-not-found',
    error: "robot 'robot-9' is not connected" });
  assert.equal(s.closeReason, 'robot-not-found');
  assert.equal(s.error.code, 'robot-not-found');
});

test('bad openSession arguments close the session at once with invalid-argument', async (t) => {
  const { cloud, clock } = await created(t);
  const bad = [cloud.openSession('no spaces allowed'), cloud.openSession('robot-1', { streamTypes: [] }),
    cloud.openSession('robot-1', { deviceId: 'x'.repeat(200) })];
  await clock.settle();
  for (const s of bad) {
    assert.equal(s.state, 'closed');
    assert.equal(s.error.code, 'invalid-argument');
  }
});

test('stats() summarizes the report: rates, codec, candidate path, robot telemetry', async (t) => {
  const { session, PC, clock } = await connected(t);
  const pc = PC.instances[0];
  const report = (bytes, frames, ts) => new Map(Object.entries({
    in: { id: 'in', type: 'inbound-rtp', kind: 'video', bytesReceived: bytes, framesDecoded: frames, timestamp: ts,
      frameWidth: 640, frameHeight: 480, packetsLost: 0, packetsReceived: 100, framesDropped: 1, codecId: 'co',
      totalDecodeTime: frames * 0.002, jitterBufferDelay: frames * 0.01, jitterBufferEmittedCount: frames },
    co: { id: 'co', type: 'codec', mimeType: 'video/VP8' },
    tr: { id: 'tr', type: 'transport', selectedCandidatePairId: 'cp' },
    cp: { id: 'cp', type: 'candidate-pair', localCandidateId: 'l', remoteCandidateId: 'r', currentRoundTripTime: 0.004 },
    l: { id: 'l', type: 'local-candidate', candidateType: 'host', protocol: 'udp' },
    r: { id: 'r', type: 'remote-candidate', candidateType: 'srflx' },
  }));
  pc.stats = report(0, 0, 1000);
  await session.stats();
  pc.stats = report(125000, 30, 2000);
  const s = await session.stats();
  assert.equal(s.fps, 30);
  assert.equal(s.bitrateKbps, 1000);
  assert.equal(s.rttMs, 4);
  assert.deepEqual([s.width, s.height, s.codec, s.candidateType, s.localCandidateType, s.remoteCandidateType, s.protocol],
    [640, 480, 'VP8', 'srflx', 'host', 'srflx', 'udp']);
  assert.ok(Math.abs(s.decodeTimeMs - 2) < 1e-9);
  assert.ok(Math.abs(s.jitterBufferMs - 10) < 1e-9);
  assert.equal(s.relayProtocol, null);
  assert.equal(s.robot, null);
  assert.deepEqual(s.streamTypes, ['color']);
  const channel = { label: 'telemetry' };
  pc.ondatachannel({ channel });
  channel.onmessage({ data: JSON.stringify({ streams: { color: { fps: 29, bitrateKbps: 900, viewers: 1 } } }) });
  channel.onmessage({ data: 'not json' });
  assert.deepEqual((await session.stats()).robot, {
    fps: 29, bitrateKbps: 900, viewers: 1, estimateKbps: null, layer: null, retransmissions: null,
  });
  // This viewer's bandwidth estimate and layer (adaptive quality).
  channel.onmessage({ data: JSON.stringify({ streams: { color: { fps: 29, bitrateKbps: 900, viewers: 1 } },
    bandwidth: { estimateKbps: 512.5, layer: 2, reports: 7, rtxSent: 3 } }) });
  assert.deepEqual((await session.stats()).robot, {
    fps: 29, bitrateKbps: 900, viewers: 1, estimateKbps: 512.5, layer: 2, retransmissions: 3,
  });
  await clock.settle();
});

// ---- fresh TURN credentials before an ICE restart ----

const TURN_OLD = { urls: ['turn:turn.example:3478?transport=udp'], username: '1700000020:client-1', credential: 'old' };
const TURN_NEW = { urls: ['turn:turn.example:3478?transport=udp'], username: '1700000040:http-x', credential: 'new' };

/** A fetch that records its calls and answers GET /api/ice-servers with `body` (status 200) or `status`. */
function fakeFetch(body, status = 200) {
  const calls = [];
  const f = async (url, init) => {
    calls.push({ url, init });
    return { ok: status === 200, status, json: async () => body };
  };
  f.calls = calls;
  return f;
}

/** Connected with the cloud's TURN server (iceServersTtl 20 s) and no stall detection. */
async function connectedWithTurn(t, options = {}, sessionOptions = {}) {
  const clock = useClock(t);
  const WS = fakeWebSocketClass();
  const PC = fakePeerConnectionClass();
  const cloud = connect('ws://cloud.test:3001/ws', { WebSocket: WS, RTCPeerConnection: PC, restartAfterMs: 0, viewerOffers: false, ...options });
  t.after(() => cloud.close());
  await clock.settle();
  const ws = WS.last;
  ws.register([{ robotId: 'robot-1', deviceInfo: {} }]);
  const session = cloud.openSession('robot-1', sessionOptions);
  ws.deliver({ type: 'session-created', requestId: ws.ofType('create-session')[0].requestId, sessionId: SID,
    iceServers: [TURN_OLD], iceServersTtl: 20 });
  ws.deliver({ type: 'webrtc-offer', sessionId: SID, offer: OFFER });
  await clock.settle();
  const pc = PC.instances[0];
  pc.setConnectionState('connected');
  return { cloud, session, ws, pc, clock };
}

/** The robot's ICE-restart offer, answered. */
async function restartOffer(c) {
  c.ws.deliver({ type: 'webrtc-offer', sessionId: SID, offer: { type: 'offer', sdp: 'v=0\r\nrestart\r\n' } });
  await c.clock.settle();
}

test('an ICE restart after the TURN credentials\' TTL fetches fresh ones and gives them to the peer connection first', async (t) => {
  const fetch = fakeFetch({ iceServers: [TURN_NEW], ttl: 20 });
  const c = await connectedWithTurn(t, { fetch });
  assert.deepEqual(c.pc.config.iceServers, [TURN_OLD]);
  await c.clock.advance(19000); // within a tenth of the TTL of the end: stale
  const setRemote = c.pc.setRemoteDescription.bind(c.pc);
  let serversAtRestart = null;
  c.pc.setRemoteDescription = async (d) => { serversAtRestart = c.pc.config.iceServers; return setRemote(d); };
  await restartOffer(c);
  assert.equal(fetch.calls.length, 1);
  assert.equal(fetch.calls[0].url, 'http://cloud.test:3001/api/ice-servers');
  assert.deepEqual(serversAtRestart, [TURN_NEW], 'fresh servers before the restart offer is applied');
  assert.equal(c.pc.config.bundlePolicy, 'max-bundle', 'the rest of the configuration kept');
  assert.equal(c.session.iceRestarts, 1);
  assert.equal(c.ws.ofType('webrtc-answer').length, 2);
  // Fresh for another TTL: the next restart fetches nothing.
  await restartOffer(c);
  assert.equal(fetch.calls.length, 1);
});

test('asking for a restart fetches stale credentials at once, with the token as a Bearer; fresh ones are kept', async (t) => {
  const fetch = fakeFetch({ iceServers: [TURN_NEW], ttl: 20 });
  const c = await connectedWithTurn(t, { fetch, token: 'tok.en.x' });
  c.session.restartIce();
  await c.clock.settle();
  assert.equal(fetch.calls.length, 0, 'credentials within their TTL are not fetched');
  await c.clock.advance(21000);
  c.session.restartIce();
  await c.clock.settle();
  assert.equal(fetch.calls.length, 1);
  assert.equal(fetch.calls[0].init.headers.authorization, 'Bearer tok.en.x');
  assert.deepEqual(c.pc.config.iceServers, [TURN_NEW]);
});

test('before their TTL, with the page\'s own servers, or when the fetch fails, a restart goes on with what it has', async (t) => {
  await t.test('within the TTL', async (tt) => {
    const fetch = fakeFetch({ iceServers: [TURN_NEW], ttl: 20 });
    const c = await connectedWithTurn(tt, { fetch });
    await c.clock.advance(5000);
    await restartOffer(c);
    assert.equal(fetch.calls.length, 0);
    assert.deepEqual(c.pc.config.iceServers, [TURN_OLD]);
    assert.equal(c.session.iceRestarts, 1);
  });
  await t.test('the page\'s own servers', async (tt) => {
    const fetch = fakeFetch({ iceServers: [TURN_NEW], ttl: 20 });
    const own = [{ urls: 'turn:own.example:3478', username: 'u', credential: 'p' }];
    const c = await connectedWithTurn(tt, { fetch }, { iceServers: own });
    await c.clock.advance(25000);
    await restartOffer(c);
    assert.equal(fetch.calls.length, 0);
    assert.deepEqual(c.pc.config.iceServers, own);
  });
  await t.test('the cloud answers 401', async (tt) => {
    const fetch = fakeFetch({ error: 'no' }, 401);
    const c = await connectedWithTurn(tt, { fetch });
    await c.clock.advance(25000);
    await restartOffer(c);
    assert.equal(fetch.calls.length, 1);
    assert.deepEqual(c.pc.config.iceServers, [TURN_OLD]);
    assert.equal(c.session.iceRestarts, 1);
    assert.equal(c.ws.ofType('webrtc-answer').length, 2);
    assert.equal(c.session.state, 'connected');
  });
});

// ---- the viewer offers (viewerOffers, the default) ----

/** An open cloud whose robot list carried ICE servers, and a session that offered. */
async function offered(t, options = {}) {
  const clock = useClock(t);
  const WS = fakeWebSocketClass();
  const PC = fakePeerConnectionClass();
  const cloud = connect('ws://cloud.test/ws', { WebSocket: WS, RTCPeerConnection: PC, ...options });
  t.after(() => cloud.close());
  await clock.settle();
  const ws = WS.last;
  ws.deliver({ type: 'available-robots', clientId: 'c1', robots: [{ robotId: 'robot-1', deviceInfo: {} }],
    iceServers: [{ urls: 'stun:early.example:3478' }], iceServersTtl: 3600 });
  const session = cloud.openSession('robot-1', { streamTypes: ['color', 'depth'] });
  const seen = record(session, ['state', 'error', 'closed']);
  await clock.settle();
  return { cloud, session, ws, PC, clock, seen };
}

test('the viewer offers in create-session, with the ICE servers of the robot list, and takes the robot\'s answer', async (t) => {
  const { session, ws, PC, clock, seen } = await offered(t);
  const pc = PC.instances[0];
  assert.deepEqual(pc.config.iceServers, [{ urls: ['stun:early.example:3478'] }]);
  assert.deepEqual(pc.transceivers, [{ kind: 'video', direction: 'recvonly' }, { kind: 'video', direction: 'recvonly' }]);
  assert.equal(pc.channels.length, 1, 'a data channel for the application m-line');
  assert.equal(pc.channels[0].closed, true, '...closed at once');
  const [ask] = ws.ofType('create-session');
  assert.deepEqual(ask.offer, { type: 'offer', sdp: 'v=0\r\noffer 1\r\n' });
  // Candidates gathered before session-created wait for its id.
  pc.onicecandidate({ candidate: { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0 } });
  pc.onicecandidate({ candidate: null });
  assert.equal(ws.ofType('ice-candidate').length, 0);
  ws.deliver({ type: 'session-created', requestId: ask.requestId, sessionId: SID });
  assert.deepEqual(ws.ofType('ice-candidate').map((m) => m.candidate), [
    { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0 }, null]);
  ws.deliver({ type: 'webrtc-answer', sessionId: SID, answer: { type: 'answer', sdp: 'v=0\r\nrobot\r\n' } });
  await clock.settle();
  assert.equal(pc.remoteDescription.sdp, 'v=0\r\nrobot\r\n');
  pc.setConnectionState('connected');
  assert.deepEqual(states(seen), ['negotiating', 'connecting', 'connected']);
  assert.equal(ws.ofType('webrtc-answer').length, 0, 'the viewer answers nothing');
  // An ICE restart is the viewer's new offer; the robot's answer completes it.
  assert.equal(session.restartIce(), true);
  await clock.settle();
  assert.deepEqual(pc.offers.at(-1), { iceRestart: true });
  assert.deepEqual(ws.ofType('webrtc-offer'), [{ type: 'webrtc-offer', sessionId: SID,
    offer: { type: 'offer', sdp: 'v=0\r\noffer 2 restart\r\n' } }]);
  assert.equal(ws.ofType('ice-restart-request').length, 0);
  ws.deliver({ type: 'webrtc-answer', sessionId: SID, answer: { type: 'answer', sdp: 'v=0\r\nrobot again\r\n' } });
  await clock.settle();
  assert.equal(session.iceRestarts, 1);
  assert.equal(session.state, 'connected');
});

test('a robot that offers instead of answering: the viewer rolls its offer back and answers', async (t) => {
  const { session, ws, PC, clock, seen } = await offered(t);
  const pc = PC.instances[0];
  ws.deliver({ type: 'session-created', requestId: ws.ofType('create-session')[0].requestId, sessionId: SID });
  ws.deliver({ type: 'webrtc-offer', sessionId: SID, offer: OFFER });
  await clock.settle();
  assert.equal(PC.instances.length, 1, 'the same peer connection');
  assert.equal(pc.remoteDescription.sdp, OFFER.sdp);
  assert.deepEqual(ws.ofType('webrtc-answer'), [{ type: 'webrtc-answer', sessionId: SID,
    answer: { type: 'answer', sdp: 'v=0\r\nanswer\r\n' } }]);
  pc.setConnectionState('connected');
  assert.deepEqual(states(seen), ['negotiating', 'connecting', 'connected']);
  // From now on the robot offers: a restart is asked for, as before.
  session.restartIce();
  await clock.settle();
  assert.equal(ws.ofType('ice-restart-request').length, 1);
  assert.equal(ws.ofType('webrtc-offer').length, 0);
});

test('no answer within offerTimeoutMs: the session closes with reason timeout', async (t) => {
  const { session, ws, clock, seen } = await offered(t, { offerTimeoutMs: 500 });
  ws.deliver({ type: 'session-created', requestId: ws.ofType('create-session')[0].requestId, sessionId: SID });
  await clock.advance(600);
  assert.equal(session.state, 'closed');
  assert.match(seen.find((e) => e.type === 'closed').detail.message, /The robot sent no answer in time/);
});
