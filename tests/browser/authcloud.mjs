// authcloud.mjs - a small stand-in for porthole-cloud with sign-in, in Node
// `ws`, used only by the `auth` browser scenarios while porthole-cloud has
// no --auth-secret (run.mjs picks the real cloud as soon as it has one).
//
// It speaks the wire protocol of docs/PROTOCOL.md with the tokens of issue
// #13 (BRIEF-auth.md): robot-register and client-register carry `token` (an
// HS256 JWT, jwt.mjs); a refused one gets {"type":"error","code":
// "unauthorized","reason":<refusal code>,"error":<text>,"requestType":...}
// and the connection stays open; a registered connection whose token reaches
// exp gets {"type":"error","code":"token-expired","error":...,
// "graceSeconds":N} and is closed (1008 "token expired") after the grace
// unless it sends {"type":"refresh-token","token":...} with a valid token of
// the same role and identity, answered {"type":"token-refreshed",
// "expiresAt":<exp>}. A viewer sees only the robots its `robots` patterns
// match. Sessions are relayed as the real cloud does (create-session,
// offer/answer/candidates, switch, close-session), enough for real video
// between a page robot and the viewer.
//
// It also serves the web root (same origin as /ws, as Chromium's Local
// Network Access checks want), /health and /robots, and records what it saw
// (`log`: registrations, refreshes, refusals, and the URL of every upgrade).

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { WebSocketServer } from 'ws';
import { globMatch, verifyToken } from './jwt.mjs';

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };
const RELAYED = new Set(['webrtc-offer', 'webrtc-answer', 'ice-candidate', 'switch-stream-type', 'stream-type-switched',
  'stream-type-switch-error', 'session-error']);

/**
 * Starts the stand-in on 127.0.0.1:port. Returns {port, log, stop()}.
 * @param {{port: number, webRoot: string, secret: string, graceSeconds?: number}} o
 */
export async function startAuthCloud({ port, webRoot, secret, graceSeconds = 3 }) {
  const root = resolve(webRoot);
  const log = [];
  const robots = new Map();   // robotId -> peer
  const clients = new Set();  // registered client peers
  const sessions = new Map(); // sessionId -> {client, robot}
  let seq = 0;

  const http = createServer(async (req, res) => {
    const p = new URL(req.url, 'http://x').pathname;
    if (p === '/health') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    if (p === '/robots') {
      return void res.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify([...robots.values()].map((r) => ({ robotId: r.id, deviceInfo: r.deviceInfo }))));
    }
    const file = join(root, p.endsWith('/') ? `${p}index.html` : p);
    if (!file.startsWith(root)) return void res.writeHead(404).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] || 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 65536 });
  http.on('upgrade', (req, socket, head) => {
    log.push({ type: 'upgrade', url: req.url });
    if (new URL(req.url, 'http://x').pathname !== '/ws') return void socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws));
  });

  const send = (peer, m) => { if (peer.ws.readyState === 1) peer.ws.send(JSON.stringify(m)); };
  const error = (peer, code, text, extra = {}) => send(peer, { type: 'error', code, error: text, ...extra });
  const mayWatch = (peer, robotId) => peer.claims.robots.some((p) => globMatch(p, robotId));
  const robotEntry = (r) => ({ robotId: r.id, deviceInfo: r.deviceInfo, connectedAt: r.connectedAt });

  /** Verifies a token for role (and robot id); returns {claims} or {reason}. */
  function check(token, role, robotId) {
    const v = verifyToken(secret, token);
    if (v.reason) return v;
    if (v.claims.role !== role) return { reason: 'wrong-role' };
    if (role === 'robot' && v.claims.robot_id !== robotId) return { reason: 'wrong-robot' };
    if (role === 'viewer' && !Array.isArray(v.claims.robots)) return { reason: 'missing-claim' };
    return v;
  }

  /** Arms the expiry of peer's token: token-expired at exp, closed after the grace. */
  function armExpiry(peer) {
    clearTimeout(peer.expTimer);
    clearTimeout(peer.graceTimer);
    peer.expTimer = setTimeout(() => {
      log.push({ type: 'token-expired', id: peer.id });
      error(peer, 'token-expired', 'the token expired; send refresh-token with a new one', { graceSeconds });
      peer.graceTimer = setTimeout(() => {
        log.push({ type: 'closed-expired', id: peer.id });
        peer.ws.close(1008, 'token expired');
      }, graceSeconds * 1000);
    }, Math.max(0, peer.claims.exp * 1000 - Date.now()));
  }

  function refuse(peer, requestType, reason) {
    log.push({ type: 'refused', requestType, reason });
    error(peer, 'unauthorized', `${requestType}: the token was refused (${reason})`, { reason, requestType });
  }

  function onRegister(peer, m) {
    const role = m.type === 'robot-register' ? 'robot' : 'viewer';
    if (peer.role) return error(peer, 'already-registered', `${m.type}: already registered`, { requestType: m.type });
    if (role === 'robot' && (typeof m.robotId !== 'string' || !m.robotId)) {
      return error(peer, 'invalid-field', "robot-register: 'robotId' is required", { requestType: m.type });
    }
    const v = check(m.token, role, m.robotId);
    if (v.reason) return refuse(peer, m.type, v.reason);
    peer.claims = v.claims;
    peer.role = role;
    log.push({ type: m.type, sub: v.claims.sub });
    armExpiry(peer);
    if (role === 'robot') {
      peer.id = m.robotId;
      peer.deviceInfo = m.deviceInfo ?? {};
      peer.connectedAt = new Date().toISOString();
      robots.get(peer.id)?.ws.close(1000, 'taken over');
      robots.set(peer.id, peer);
      send(peer, { type: 'registered', robotId: peer.id });
      for (const c of clients) if (mayWatch(c, peer.id)) send(c, { type: 'robot-available', ...robotEntry(peer) });
    } else {
      peer.id = typeof m.clientId === 'string' && m.clientId ? m.clientId : `client-${++seq}`;
      clients.add(peer);
      send(peer, { type: 'available-robots', clientId: peer.id,
        robots: [...robots.values()].filter((r) => mayWatch(peer, r.id)).map(robotEntry) });
    }
    return undefined;
  }

  function onRefresh(peer, m) {
    const v = check(m.token, peer.role === 'robot' ? 'robot' : 'viewer', peer.id);
    const same = v.claims && (peer.role === 'robot' ? v.claims.robot_id === peer.claims.robot_id : v.claims.sub === peer.claims.sub);
    if (v.reason || !same) return refuse(peer, 'refresh-token', v.reason || 'wrong-subject');
    peer.claims = v.claims;
    log.push({ type: 'refresh-token', sub: v.claims.sub, exp: v.claims.exp });
    armExpiry(peer);
    return send(peer, { type: 'token-refreshed', expiresAt: v.claims.exp });
  }

  function endSession(id, reason) {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    for (const p of [s.client, s.robot]) send(p, { type: 'session-closed', sessionId: id, reason });
  }

  function onCreateSession(peer, m) {
    const r = robots.get(m.robotId);
    if (!r || !mayWatch(peer, m.robotId)) {
      return send(peer, { type: 'session-error', code: 'robot-not-found', error: `robot '${m.robotId}' is not online`,
        requestId: m.requestId });
    }
    const sessionId = randomBytes(16).toString('base64url').slice(0, 22);
    sessions.set(sessionId, { client: peer, robot: r });
    send(peer, { type: 'session-created', sessionId, robotId: r.id, requestId: m.requestId });
    return send(r, { type: 'create-session', sessionId, clientId: peer.id, deviceId: m.deviceId ?? null, streamTypes: m.streamTypes });
  }

  function onMessage(peer, data) {
    let m;
    try { m = JSON.parse(data.toString()); } catch { return error(peer, 'invalid-json', 'not JSON'); }
    if (!m || typeof m.type !== 'string') return error(peer, 'invalid-message', 'no type');
    if (m.type === 'robot-register' || m.type === 'client-register') return onRegister(peer, m);
    if (!peer.role) return error(peer, 'not-registered', `${m.type}: register first`, { requestType: m.type });
    if (m.type === 'refresh-token') return onRefresh(peer, m);
    if (m.type === 'create-session' && peer.role === 'viewer') return onCreateSession(peer, m);
    if (m.type === 'close-session') {
      const s = sessions.get(m.sessionId);
      if (s && (s.client === peer || s.robot === peer)) endSession(m.sessionId, peer.role === 'robot' ? 'closed-by-robot' : 'closed-by-client');
      return undefined;
    }
    if (RELAYED.has(m.type)) {
      const s = sessions.get(m.sessionId);
      if (!s || (s.client !== peer && s.robot !== peer)) return error(peer, 'unknown-session', `${m.type}: no such session`);
      return send(s.client === peer ? s.robot : s.client, m);
    }
    return error(peer, 'unknown-type', `${m.type}: not a message of this stand-in`, { requestType: m.type });
  }

  function onConnection(ws) {
    const peer = { ws, role: null, id: null, claims: null, expTimer: null, graceTimer: null };
    ws.on('message', (data) => onMessage(peer, data));
    ws.on('close', () => {
      clearTimeout(peer.expTimer);
      clearTimeout(peer.graceTimer);
      for (const [id, s] of sessions) if (s.client === peer || s.robot === peer) endSession(id, 'peer-disconnected');
      if (peer.role === 'viewer') clients.delete(peer);
      if (peer.role === 'robot' && robots.get(peer.id) === peer) {
        robots.delete(peer.id);
        for (const c of clients) if (mayWatch(c, peer.id)) send(c, { type: 'robot-unavailable', robotId: peer.id });
      }
    });
  }

  await new Promise((r) => http.listen(port, '127.0.0.1', r));
  return {
    port,
    log,
    standIn: true,
    running: () => http.listening,
    lines: [],
    async stop() {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => http.close(r));
    },
  };
}
