// porthole.js - the Porthole viewer SDK: connect to porthole-cloud, follow
// the robot list, open WebRTC sessions to watch a robot's cameras.
//
// A plain ES module with no dependencies, usable from any web app:
//
//   import { connect } from './porthole.js';
//   const cloud = connect();   // the cloud that served the page, or connect('wss://cloud.example/ws')
//   cloud.on('robots', (robots) => render(robots));
//   const session = cloud.openSession('robot-1', { streamTypes: ['color'] });
//   session.attach(videoElement);
//   session.on('closed', ({ reason, message }) => show(message));
//
//   const { status, body } = await cloud.request('robot-1', 'GET', '/api/devices/');
//
// A cloud that requires sign-in takes a token (a JWT) as the `token` field of
// client-register: connect(url, { token }) with the token, or with an async
// function that returns a fresh one (called at every connect and when the
// cloud says the token expired). The token is never logged, never put in a
// URL and never part of an event.
//
// Calls made before the cloud connection is open (right after connect(), or
// while reconnecting) wait for it: openSession() and request() go out once
// the cloud has registered us, each within its own time limit.
//
// Wire contract: docs/PROTOCOL.md. API guide: docs/VIEWER.md. Types:
// porthole.d.ts (next to this file). Nothing here
// throws on bad input from the network or from the caller: problems arrive
// as 'error' events (and a failed session as 'closed', a failed robot
// request as a rejected promise).

import { DepthLink, depthRequest } from './depth.js';
import { MARKER_BLOCKS, markerAge, readMarker } from './marker.js';

/** The stream types of a RealSense-like robot camera. */
export const STREAM_TYPES = Object.freeze(['color', 'depth', 'infrared-1', 'infrared-2']);

const NAME_RE = /^[A-Za-z0-9._:@-]{1,64}$/;
const STREAM_RE = /^[A-Za-z0-9._:@-]{1,32}$/;
const SESSION_RE = /^[A-Za-z0-9_-]{22}$/;
/** robot-request paths: /api/..., printable ASCII without spaces (0x21..0x7e). */
const API_PATH_RE = /^\/api\/[\x21-\x7e]{0,1019}$/;
const API_METHODS = Object.freeze(['GET', 'POST', 'PUT', 'DELETE']);

const DEFAULTS = Object.freeze({
  clientId: null,
  reconnect: true,
  minBackoffMs: 500,
  maxBackoffMs: 30000,
  registerTimeoutMs: 10000,
  sessionTimeoutMs: 10000,   // create-session -> session-created
  offerTimeoutMs: 15000,     // session-created -> webrtc-offer
  connectTimeoutMs: 20000,   // answer -> media connected (and lost media -> back)
  restartAfterMs: 500,       // no video for this long: ask the robot for an ICE restart (0: never)
  switchTimeoutMs: 10000,    // switch-stream-type -> reply
  requestTimeoutMs: 15000,   // robot-request -> robot-response (the cloud gives up after 10 s)
  maxMessageBytes: 65536,    // the cloud's --max-message: a bigger message would close the connection
  iceServers: null,          // null: use the STUN/TURN servers the cloud hands out
  iceTransportPolicy: 'all', // 'relay' forces TURN (for testing a deployment's relay)
  lowLatency: true,
  viewerOffers: true,        // the viewer makes the offer (create-session's offer); false: the robot does
});

/** Bytes of client-register beyond its token (type, clientId, JSON punctuation). */
const REGISTER_OVERHEAD = 256;

/**
 * The cloud's `iceServers` (docs/PROTOCOL.md) as RTCIceServer[]: entries
 * with string URLs of the four ICE schemes and string credentials only, at
 * most 8; anything else is left out rather than handed to the browser.
 */
function validIceServers(list) {
  if (!Array.isArray(list)) return [];
  const out = [];
  for (const e of list.slice(0, 8)) {
    if (!isObj(e)) continue;
    const urls = (Array.isArray(e.urls) ? e.urls : [e.urls])
      .filter((u) => typeof u === 'string' && u.length <= 256 && /^(stuns?|turns?):/.test(u));
    if (urls.length === 0) continue;
    const server = { urls };
    if (typeof e.username === 'string' && typeof e.credential === 'string') {
      server.username = e.username;
      server.credential = e.credential;
    }
    out.push(server);
  }
  return out;
}

/** How long GET /api/ice-servers may take before a restart goes on without it. */
const ICE_FETCH_TIMEOUT_MS = 3000;

/**
 * How long (ms) the TURN credentials in `servers` stay valid from now: the
 * cloud's `ttl` / `iceServersTtl` (seconds) when it sent one, else the
 * expiry in a TURN REST username ("<expiry>:<id>", Unix seconds), else 0
 * (unknown: never refreshed).
 */
function iceTtlMs(ttl, servers) {
  if (Number.isFinite(ttl) && ttl > 0) return Math.min(ttl, 30 * 86400) * 1000;
  for (const s of servers) {
    const m = typeof s.username === 'string' ? /^(\d{9,12}):/.exec(s.username) : null;
    if (m) return Math.max(0, Number(m[1]) * 1000 - Date.now());
  }
  return 0;
}

/**
 * An error reported by the SDK. `code` is stable and machine-readable:
 * 'cloud-unreachable', 'cloud-error', 'protocol', 'robot-not-found',
 * 'session-limit', 'session-error', 'switch-failed', 'timeout',
 * 'connection-failed', 'signaling-unavailable', 'no-webrtc',
 * 'invalid-argument', 'closed'; and for sign-in 'unauthorized' (the cloud
 * refused the token: detail.reason is its refusal code, e.g. 'token-missing',
 * 'token-expired', 'bad-signature'), 'token-expired' (the token in use has
 * expired and the SDK has no function to get another: detail.graceSeconds)
 * and 'token-unavailable' (the token function threw or rejected).
 */
export class PortholeError extends Error {
  /** @param {string} code @param {string} message @param {object} [detail] */
  constructor(code, message, detail) {
    super(message);
    this.name = 'PortholeError';
    this.code = code;
    this.detail = detail;
  }
}

/** True when this browser can receive WebRTC video. */
export function webrtcSupported(g = globalThis) {
  return typeof g.RTCPeerConnection === 'function' && typeof g.MediaStream === 'function';
}

/**
 * The cloud that served a page: ws(s)://<the page's host>/ws (wss for an
 * https page). Returns null for a page not served over http(s) (file://, or
 * no page at all, as in Node). connect() without a URL uses it.
 * @param {Location|URL} [loc]
 */
export function pageCloudUrl(loc = globalThis.location) {
  try {
    if (!loc || (loc.protocol !== 'http:' && loc.protocol !== 'https:')) return null;
    return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/ws`;
  } catch {
    return null;
  }
}

/**
 * The cloud URL the viewer page uses: its `?cloud=` parameter when it holds
 * a ws(s):// or http(s):// URL, else pageCloudUrl(). Returns null when there
 * is neither (a page opened from file:// without ?cloud=). connect() does
 * not read ?cloud= by itself: an app decides whether a link may pick the
 * cloud (and so where its token goes).
 * @param {Location|URL} [loc]
 */
export function defaultCloudUrl(loc = globalThis.location) {
  try {
    const override = new URL(loc.href).searchParams.get('cloud');
    if (override) {
      const u = new URL(override, loc.href);
      if (u.protocol === 'ws:' || u.protocol === 'wss:') return u.href;
      if (u.protocol === 'http:' || u.protocol === 'https:') {
        u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
        if (u.pathname === '/') u.pathname = '/ws';
        return u.href;
      }
      return null;
    }
    return pageCloudUrl(loc);
  } catch {
    return null;
  }
}

/**
 * Backoff before reconnect attempt n (0-based): "full jitter", a uniform
 * random delay up to min(max, min * 2^n), never below min.
 */
export function backoffDelay(attempt, minMs = 500, maxMs = 30000, random = Math.random) {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.max(minMs, Math.round(random() * cap));
}

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const isStr = (v, max = 1 << 20) => typeof v === 'string' && v.length > 0 && v.length <= max;
const isName = (v) => typeof v === 'string' && NAME_RE.test(v);
const isStreamList = (v) => Array.isArray(v) && v.length >= 1 && v.length <= 8 &&
  v.every((s) => typeof s === 'string' && STREAM_RE.test(s));
const finite = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const validTokenSource = (t) => t == null || typeof t === 'string' || typeof t === 'function';

/** EventTarget with on()/once() helpers that hand listeners the event's detail. */
class Emitter extends EventTarget {
  /**
   * Calls fn(detail) for every event of this type.
   * @returns {() => void} removes the listener
   */
  on(type, fn) {
    const h = (e) => fn(e.detail);
    this.addEventListener(type, h);
    return () => this.removeEventListener(type, h);
  }

  /** Calls fn(detail) for the next event of this type only. */
  once(type, fn) {
    const h = (e) => fn(e.detail);
    this.addEventListener(type, h, { once: true });
    return () => this.removeEventListener(type, h);
  }

  _emit(type, detail) {
    // A listener that throws is reported by the browser and does not stop us.
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/**
 * What the viewer knows of one robot. deviceInfo is the robot's own object,
 * untouched; name, serial, firmwareVersion and streams are read from it
 * defensively.
 * @typedef {object} RobotInfo
 * @property {string} robotId
 * @property {string} name            deviceInfo.name, or the id
 * @property {string} serial          deviceInfo.serial, or ''
 * @property {string} firmwareVersion deviceInfo.firmwareVersion, or ''
 * @property {string[]} streams       deviceInfo.streams, or STREAM_TYPES
 * @property {object} deviceInfo
 * @property {string|null} connectedAt ISO-8601, from the cloud
 * @property {boolean} online         false once the cloud said it left (kept in the list)
 * @property {number|null} offlineSince Date.now() when it went offline
 */
function robotInfo(robotId, deviceInfo, connectedAt) {
  const d = isObj(deviceInfo) ? deviceInfo : {};
  const text = (v, max = 200) => (typeof v === 'string' ? v.slice(0, max) : typeof v === 'number' ? String(v) : '');
  const streams = isStreamList(d.streams) ? d.streams.slice() : STREAM_TYPES.slice();
  return {
    robotId,
    name: text(d.name) || robotId,
    serial: text(d.serial, 64),
    firmwareVersion: text(d.firmwareVersion, 64),
    streams,
    deviceInfo: d,
    connectedAt: typeof connectedAt === 'string' ? connectedAt.slice(0, 64) : null,
    online: true,
    offlineSince: null,
  };
}

/**
 * @callback TokenFunction
 * @param {{reason: 'connect'|'expired'|'refresh'}} why 'connect' before each
 *   (re)connect, 'expired' when the cloud said the token expired, 'refresh'
 *   when setToken(fn) was called while registered, and before fetching
 *   fresh TURN credentials (GET /api/ice-servers)
 * @returns {string|null|Promise<string|null>} the token, or null for none
 */

/**
 * Connects to porthole-cloud and keeps connected: after a lost connection it
 * reconnects with exponential backoff and full jitter (0.5 s to 30 s by
 * default), registers again and lists the robots again. Sessions whose video
 * is playing keep playing while signaling is down. openSession() and
 * request() called before the connection is open wait for it.
 *
 * @param {string|URL} [url] ws:// or wss:// URL of the cloud's /ws endpoint;
 *   omitted (or null, or ''): the cloud that served the page (pageCloudUrl()).
 *   connect(options) also works.
 * @param {object} [options]
 * @param {string|TokenFunction|null} [options.token] the viewer's token (a JWT)
 *   for a cloud that requires sign-in, sent as `token` in client-register; or
 *   a function returning one (or a Promise of one), called before every
 *   (re)connect with {reason: 'connect'} and when the cloud says the token
 *   expired with {reason: 'expired'}. null, undefined or '' sends none.
 *   Replace it later with cloud.setToken().
 * @param {string} [options.clientId] a fixed client id (default: the cloud picks one)
 * @param {boolean} [options.reconnect=true]
 * @param {number} [options.minBackoffMs=500]
 * @param {number} [options.maxBackoffMs=30000]
 * @param {RTCIceServer[]|null} [options.iceServers=null] STUN/TURN for sessions;
 *   null uses the servers (with fresh TURN credentials) the cloud hands out
 *   with each session, an array (even empty) replaces them
 * @param {'all'|'relay'} [options.iceTransportPolicy='all'] 'relay' uses TURN only
 * @param {boolean} [options.lowLatency=true] minimal receive jitter buffer
 * @param {boolean} [options.viewerOffers=true] the viewer makes the offer (the
 *   browser is then the controlling ICE agent and nominates at once); false:
 *   the robot offers and the viewer answers (the flow before it)
 * @param {typeof WebSocket} [options.WebSocket] an implementation (default: the global)
 * @param {typeof RTCPeerConnection} [options.RTCPeerConnection]
 * @param {typeof fetch} [options.fetch] an implementation (default: the
 *   global), for fresh TURN credentials from GET /api/ice-servers
 * @returns {Cloud}
 */
export function connect(url, options) {
  if (options === undefined && isObj(url) && !(typeof URL === 'function' && url instanceof URL)) {
    return new Cloud(undefined, url);
  }
  return new Cloud(url, options ?? {});
}

/**
 * A connection to porthole-cloud.
 *
 * Events (listen with on(type, fn); fn receives the detail):
 * - 'state' {state, attempt, retryInMs, reason?}: state is 'connecting',
 *   'open', 'reconnecting' (waiting retryInMs before attempt), 'unauthorized'
 *   (the cloud refused the token: reason is its refusal code; no reconnects
 *   until setToken(), reconnectNow() or close()) or 'closed'.
 * - 'robots' RobotInfo[]: the list changed (any reason).
 * - 'robot-available' RobotInfo, 'robot-unavailable' RobotInfo.
 * - 'token-refreshed' {expiresAt}: the cloud accepted a new token on the
 *   open connection (refresh-token); expiresAt in Unix seconds.
 * - 'error' PortholeError: cloud unreachable, refused, or sent something invalid.
 * - 'message' object: every valid message from the cloud, for extensions.
 */
export class Cloud extends Emitter {
  /**
   * The token or token function. A private field, not an option, so that it
   * shows up in no property an app might log or serialize (cloud.options).
   * @type {string|TokenFunction|null}
   */
  #token = null;

  constructor(url, options = {}) {
    super();
    const { token, ...rest } = isObj(options) ? options : {};
    this.options = { ...DEFAULTS, ...rest };
    const noUrl = url === undefined || url === null || url === '';
    /** @type {string} */
    this.url = noUrl ? (pageCloudUrl() ?? '') : typeof url === 'string' ? url : String(url);
    /** @type {'connecting'|'open'|'reconnecting'|'unauthorized'|'closed'} */
    this.state = 'connecting';
    /** Why the cloud refused the token (its refusal code) while 'unauthorized', else null. */
    this.authReason = null;
    /** When the token in use expires (Unix seconds), once the cloud said so (token-refreshed), else null. */
    this.tokenExpiresAt = null;
    /** The id the cloud registered us under, once open. */
    this.clientId = null;
    /** @type {Map<string, RobotInfo>} every robot seen, online or not */
    this.robots = new Map();
    /** Time (Date.now()) of the next reconnect attempt while reconnecting. */
    this.nextAttemptAt = null;
    this._ws = null;
    this._attempt = 0;
    this._retryTimer = null;
    this._registerTimer = null;
    this._requestSeq = 0;
    this._sessions = new Map();   // sessionId -> Session
    this._pending = new Map();    // requestId -> Session awaiting session-created
    this._ice = null;             // {servers, at, ttlMs} from available-robots, or null
    this._flushing = false;       // _flushWaiting is sending what waited for the connection
    this._requests = new Map();   // requestId -> robot request awaiting robot-response (or the connection: req.unsent)
    this._lastError = null;       // why the last connection attempt failed, for the errors of calls still waiting
    this._openSeq = 0;            // connection attempts: a token arriving for an older one is dropped
    this._tokenGen = 0;           // bumped by setToken(): which token a registration was sent with
    this._registerGen = -1;       // _tokenGen of the client-register in flight (-1: none)
    this._refreshSeq = 0;         // refresh-token attempts: only the newest one sends
    this._WS = this.options.WebSocket || globalThis.WebSocket;
    this._onOnline = () => { if (this.state === 'reconnecting') this.reconnectNow(); };
    globalThis.addEventListener?.('online', this._onOnline);

    let bad = null;
    if (noUrl && !this.url) {
      bad = 'no cloud URL given, and this page was not served over http(s) to take one from';
    } else {
      try {
        const u = new URL(this.url);
        if (u.protocol !== 'ws:' && u.protocol !== 'wss:') bad = `not a ws:// or wss:// URL: ${this.url}`;
      } catch {
        bad = `not a valid URL: '${this.url}'`;
      }
    }
    if (!bad && typeof this._WS !== 'function') bad = 'this environment has no WebSocket';
    if (!bad && !validTokenSource(token)) bad = 'token must be a string, a function or null';
    if (!bad) this.#token = token ?? null;
    if (bad) {
      this.state = 'closed';
      setTimeout(() => {
        this._emit('error', new PortholeError('invalid-argument', bad));
        this._emit('state', { state: 'closed', attempt: 0, retryInMs: null });
      }, 0);
      return;
    }
    setTimeout(() => this._open(), 0);
  }

  /** The robots, online first, then by name. @returns {RobotInfo[]} */
  list() {
    return [...this.robots.values()].sort((a, b) =>
      (b.online - a.online) || a.name.localeCompare(b.name) || a.robotId.localeCompare(b.robotId));
  }

  /** The open sessions of this connection. @returns {Session[]} */
  sessions() {
    return [...new Set([...this._sessions.values(), ...this._pending.values()])];
  }

  /**
   * While reconnecting, tries again now instead of waiting out the backoff.
   * While unauthorized, registers again with the current token (a token
   * function is asked again).
   */
  reconnectNow() {
    if (this.state === 'unauthorized') {
      this._retryRegistration();
      return;
    }
    if (this.state !== 'reconnecting') return;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._open();
  }

  /**
   * Replaces the token (a string, a TokenFunction, or null for none) and
   * uses it at once: while registered it is sent as refresh-token (the cloud
   * answers token-refreshed, or an 'error' with code 'unauthorized' and the
   * old token stays in force); while unauthorized the SDK registers with it
   * (on the same connection when the cloud kept it open, else on a new one);
   * while waiting to reconnect it reconnects now; while connecting the
   * registration under way is retried with it if the cloud refuses the old
   * one. A null token while registered takes effect at the next connection.
   * Nothing is returned: watch 'state' ('open' or 'unauthorized'),
   * 'token-refreshed' and 'error'.
   * @param {string|TokenFunction|null} token
   */
  setToken(token) {
    if (!validTokenSource(token)) {
      setTimeout(() => this._emit('error', new PortholeError('invalid-argument',
        'setToken() takes a string, a function or null')), 0);
      return;
    }
    this.#token = token ?? null;
    this._tokenGen++;
    if (this.state === 'open') {
      if (this.#token !== null) this._refresh('refresh');
    } else if (this.state === 'unauthorized') {
      this._retryRegistration();
    } else if (this.state === 'reconnecting' && this._retryTimer) {
      this.reconnectNow();
    }
  }

  /** Closes every session and the connection; no reconnect after this. */
  close() {
    if (this.state === 'closed') return;
    for (const s of this.sessions()) s.close();
    this._failRequests(new PortholeError('closed', 'the cloud connection was closed before the robot answered'));
    this.state = 'closed';
    this._openSeq++;
    clearTimeout(this._retryTimer);
    clearTimeout(this._registerTimer);
    globalThis.removeEventListener?.('online', this._onOnline);
    const ws = this._ws;
    this._ws = null;
    if (ws) try { ws.close(1000); } catch { /* already closing */ }
    this._emit('state', { state: 'closed', attempt: this._attempt, retryInMs: null });
  }

  /**
   * Opens a session to watch a robot. Always returns a Session; when it
   * cannot start (no WebRTC, bad arguments, the cloud closed or refusing
   * this viewer's token) the session emits 'error' and 'closed' right after
   * this call returns. Before the cloud connection is open (right after
   * connect(), or while reconnecting) the request waits for it, within
   * sessionTimeoutMs (10 s): then the session closes with reason 'timeout'
   * and a 'cloud-unreachable' error.
   * @param {string} robotId
   * @param {object} [options]
   * @param {string[]} [options.streamTypes=['color']]
   * @param {string|null} [options.deviceId]
   * @param {RTCIceServer[]} [options.iceServers] overrides connect()'s option and the cloud's servers
   * @param {'all'|'relay'} [options.iceTransportPolicy] overrides connect()'s option
   * @param {boolean} [options.lowLatency] overrides the cloud's option
   * @param {boolean} [options.viewerOffers] overrides connect()'s option
   * @param {boolean|{rate?: number, decimation?: number, color?: boolean}} [options.depth]
   *   metric depth over a data channel (depth.js; docs/VIEWER.md)
   * @returns {Session}
   */
  openSession(robotId, options = {}) {
    const opts = isObj(options) ? options : {};
    const s = new Session(this, robotId, opts);
    let why = null;
    if (!isName(robotId)) why = new PortholeError('invalid-argument', `invalid robot id: ${JSON.stringify(robotId)}`);
    else if (opts.streamTypes !== undefined && !isStreamList(opts.streamTypes)) {
      why = new PortholeError('invalid-argument', 'streamTypes must be an array of 1 to 8 stream type names');
    } else if (opts.deviceId != null && !(typeof opts.deviceId === 'string' && opts.deviceId.length <= 128)) {
      why = new PortholeError('invalid-argument', 'deviceId must be a string of at most 128 characters');
    } else if (s._depthError) {
      why = new PortholeError('invalid-argument', s._depthError);
    } else if (!webrtcSupported() && !this.options.RTCPeerConnection) {
      why = new PortholeError('no-webrtc', 'this browser does not support WebRTC (no RTCPeerConnection)');
    } else if (this.state === 'closed') {
      why = new PortholeError('cloud-unreachable', 'not connected to the cloud (the connection was closed)');
    } else if (this.state === 'unauthorized') {
      why = this._unauthorizedError();
    }
    if (why) {
      setTimeout(() => s._fail(why, why.code === 'unauthorized' ? 'unauthorized' : 'failed'), 0);
      return s;
    }
    const requestId = `s${++this._requestSeq}`;
    this._pending.set(requestId, s);
    s._requestId = requestId;
    const msg = { type: 'create-session', robotId, streamTypes: s.streamTypes, requestId };
    if (opts.deviceId != null) msg.deviceId = opts.deviceId;
    if (s._depth.requested) msg.depth = s._depth.requested;
    s._createMsg = msg;
    // Before the cloud has registered us (right after connect(), or while
    // reconnecting) the request waits and goes out as soon as it has; the
    // session's sessionTimeoutMs bounds the wait (failed connection attempts
    // in between do not end it).
    if (this.state === 'open') s._sendCreate(msg);
    else s._unsent = msg;
    return s;
  }

  /**
   * Calls the robot's REST API (docs/API.md) through the cloud, over this
   * connection (robot-request / robot-response).
   *
   * Resolves with {status, body, ok} for every answer, whatever its status:
   * the robot's own (200, 404, 422...) and those the cloud makes itself
   * (503 robot offline or gone before answering, 504 robot too slow, 429 too
   * many requests pending). An error body is {detail: "<sentence>"}; ok is
   * true for 2xx. Before the cloud connection is open (right after
   * connect(), or while reconnecting) the request waits for it and is sent
   * once the cloud has registered us, all within timeoutMs. Rejects with a
   * PortholeError only when no answer can come: 'invalid-argument' (bad
   * robot id, method, path or body; nothing is sent), 'cloud-unreachable'
   * (not connected within timeoutMs, the connection closed for good, or
   * lost after the request was sent: it is not sent again, as it may not be
   * idempotent), 'unauthorized' (the cloud refused this viewer's token), 'cloud-error'
   * (the cloud refused the message), 'protocol' (the answer was malformed),
   * 'timeout' (no answer within timeoutMs), 'closed' (cloud.close()).
   *
   * @param {string} robotId
   * @param {'GET'|'POST'|'PUT'|'DELETE'} method
   * @param {string} path begins with /api/; printable ASCII, no spaces (percent-encode the rest); may carry ?query
   * @param {*} [body] any JSON value; undefined sends none
   * @param {{timeoutMs?: number}} [options] timeoutMs defaults to the cloud's requestTimeoutMs (15 s)
   * @returns {Promise<{status: number, body: *, ok: boolean}>}
   */
  request(robotId, method, path, body, options = {}) {
    const m = typeof method === 'string' ? method.toUpperCase() : method;
    const bad = (text) => Promise.reject(new PortholeError('invalid-argument', text));
    if (!isName(robotId)) return bad(`invalid robot id: ${JSON.stringify(robotId)}`);
    if (!API_METHODS.includes(m)) return bad(`method must be one of ${API_METHODS.join(', ')}: ${JSON.stringify(method)}`);
    if (typeof path !== 'string' || !API_PATH_RE.test(path)) {
      return bad(`path must begin with /api/ and hold at most 1024 printable ASCII characters without spaces: ${
        JSON.stringify(typeof path === 'string' ? path.slice(0, 100) : path)}`);
    }
    const timeoutMs = finite(options?.timeoutMs) ?? this.options.requestTimeoutMs;
    if (!(timeoutMs > 0)) return bad(`timeoutMs must be a positive number: ${JSON.stringify(options?.timeoutMs)}`);
    if (this.state === 'unauthorized') {
      const e = this._unauthorizedError();
      return Promise.reject(new PortholeError(e.code, `${m} ${path} to ${robotId}: ${e.message}`, e.detail));
    }
    if (this.state === 'closed') {
      return Promise.reject(new PortholeError('cloud-unreachable',
        `${m} ${path} to ${robotId}: not connected to the cloud (the connection is closed)`));
    }
    const requestId = `q${++this._requestSeq}`;
    const msg = { type: 'robot-request', requestId, robotId, method: m, path };
    let text;
    try {
      if (body !== undefined) {
        msg.body = body;
        if (JSON.stringify(body) === undefined) throw new Error('it has no JSON form');
      }
      text = JSON.stringify(msg);
    } catch (e) {
      return bad(`the body cannot be sent as JSON: ${e?.message || e}`);
    }
    const size = new TextEncoder().encode(text).length;
    if (size > this.options.maxMessageBytes) {
      return bad(`the request is ${size} bytes; the cloud accepts messages of at most ${this.options.maxMessageBytes}`);
    }
    return new Promise((resolve, reject) => {
      const what = `${m} ${path} to ${robotId}`;
      const req = {
        robotId, what,
        // Waiting for the connection (or for the calls made before it: _flushWaiting).
        unsent: this.state === 'open' && !this._flushing ? null : text,
        resolve: (v) => { clearTimeout(req.timer); this._requests.delete(requestId); resolve(v); },
        reject: (e) => { clearTimeout(req.timer); this._requests.delete(requestId); reject(e); },
        timer: setTimeout(() => req.reject(req.unsent
          ? this._notConnectedError(`${what}: `, timeoutMs, { requestId })
          : new PortholeError('timeout', `${what}: no answer within ${seconds(timeoutMs)}`, { requestId })), timeoutMs),
      };
      this._requests.set(requestId, req);
      if (!req.unsent && !this._sendText(text)) {
        req.reject(new PortholeError('cloud-unreachable', `${what}: not connected to the cloud`));
      }
    });
  }

  // --- internals -----------------------------------------------------------

  /** The error of a call that waited timeoutMs for the connection in vain. */
  _notConnectedError(prefix, timeoutMs, detail = {}) {
    const last = this._lastError ? ` (${this._lastError.message})` : '';
    return new PortholeError('cloud-unreachable',
      `${prefix}not connected to the cloud within ${seconds(timeoutMs)}${last}`,
      { ...detail, timeoutMs, state: this.state });
  }

  _setState(state, extra = {}) {
    this.state = state;
    this._emit('state', { state, attempt: this._attempt, retryInMs: null, ...extra });
  }

  /**
   * One connection attempt: get the token first (a token function may take
   * a while, and the socket should not sit unregistered meanwhile), then
   * open the socket and register.
   */
  _open() {
    if (this.state === 'closed') return;
    this.nextAttemptAt = null;
    this.authReason = null;
    this._setState(this._everOpen ? 'reconnecting' : 'connecting', { retryInMs: 0 });
    const seq = ++this._openSeq;
    const gen = this._tokenGen;
    this._token('connect').then((t) => {
      if (seq !== this._openSeq || this.state === 'closed') return;
      if (t.error) {
        if (t.error.code === 'token-unavailable') this._down(t.error);
        else this._unauthorized(t.error);
        return;
      }
      this._connectSocket(t.token, gen);
    });
  }

  _connectSocket(token, gen) {
    let ws;
    try {
      ws = new this._WS(this.url);
    } catch (e) {
      this._down(new PortholeError('cloud-unreachable', `Cannot connect to ${this.url}: ${e?.message || e}`));
      return;
    }
    this._ws = ws;
    ws.onopen = () => {
      if (ws !== this._ws) return;
      this._sendRegister(ws, token, gen);
    };
    ws.onmessage = (ev) => { if (ws === this._ws) this._onMessage(ev.data); };
    ws.onerror = () => { /* a close event follows */ };
    ws.onclose = (ev) => {
      if (ws !== this._ws) return;
      this._ws = null;
      // Unauthorized: the cloud may close a connection that never registers;
      // stay put until setToken() rather than knock again with the same token.
      if (this.state === 'unauthorized') return;
      const how = ev && ev.code ? ` (code ${ev.code}${ev.reason ? `: ${ev.reason}` : ''})` : '';
      this._down(new PortholeError('cloud-unreachable', this._wasOpen
        ? `Lost the connection to the cloud at ${this.url}${how}`
        : `Cannot reach the cloud at ${this.url}${how}`));
    };
  }

  /** Sends client-register (with token, when there is one) and waits registerTimeoutMs for the answer. */
  _sendRegister(ws, token, gen) {
    const reg = { type: 'client-register' };
    if (this.options.clientId) reg.clientId = this.options.clientId;
    if (token) reg.token = token;
    this._registerGen = gen;
    this._send(reg);
    clearTimeout(this._registerTimer);
    this._registerTimer = setTimeout(() => {
      if (ws !== this._ws) return;
      this._drop(ws, new PortholeError('timeout', 'the cloud did not answer client-register'));
    }, this.options.registerTimeoutMs);
  }

  /**
   * Registers again after a refusal, with the token as it is now: on the
   * same connection when the cloud kept it open, else on a new one.
   */
  _retryRegistration() {
    const ws = this._ws;
    if (!ws || ws.readyState !== 1) {
      this._ws = null;
      if (ws) try { ws.close(1000); } catch { /* already closing */ }
      this._open();
      return;
    }
    this.authReason = null;
    const state = this._everOpen ? 'reconnecting' : 'connecting';
    if (this.state !== state) this._setState(state, { retryInMs: 0 });
    const seq = ++this._openSeq;
    const gen = this._tokenGen;
    this._token('connect').then((t) => {
      if (seq !== this._openSeq || ws !== this._ws || this.state === 'closed') return;
      if (t.error) {
        if (t.error.code === 'token-unavailable') this._drop(ws, t.error);
        else this._unauthorized(t.error);
        return;
      }
      this._sendRegister(ws, t.token, gen);
    });
  }

  /**
   * The token to send now: {token} (a string, or null for none) or {error}
   * (a PortholeError: 'token-unavailable' when the token function threw,
   * rejected or took longer than registerTimeoutMs; 'unauthorized' with
   * reason 'invalid-token' when it gave something that is not a usable
   * token). Never rejects. Nothing here puts the token in an error.
   */
  async _token(reason) {
    const src = this.#token;
    let v = src;
    if (typeof src === 'function') {
      let timer;
      try {
        v = await Promise.race([
          Promise.resolve().then(() => src({ reason })),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no token within ${this.options.registerTimeoutMs} ms`)),
              this.options.registerTimeoutMs);
          }),
        ]);
      } catch (e) {
        return { error: new PortholeError('token-unavailable', `the token function failed: ${e?.message || e}`) };
      } finally {
        clearTimeout(timer);
      }
    }
    if (v === null || v === undefined || v === '') return { token: null };
    const bad = (why) => ({
      error: new PortholeError('unauthorized', `cannot use the token: ${why}`, { reason: 'invalid-token' }),
    });
    if (typeof v !== 'string') return bad(`the token function returned a ${typeof v}, not a string`);
    const token = v.trim();
    if (!token) return { token: null };
    if (token.length + REGISTER_OVERHEAD > this.options.maxMessageBytes) {
      return bad(`it is ${token.length} characters long, too long for the cloud's messages`);
    }
    return { token };
  }

  /**
   * Fresh STUN/TURN servers from the cloud's GET /api/ice-servers (this
   * cloud's host over http(s), the token as a Bearer when there is one):
   * resolves {servers, ttlMs}, or null when it cannot (no fetch, an error
   * status, a page of an origin that the cloud's --allowed-origins does not list, no
   * answer within ICE_FETCH_TIMEOUT_MS). Never rejects.
   */
  async _fetchIceServers() {
    const f = this.options.fetch || globalThis.fetch;
    if (typeof f !== 'function') return null;
    let url;
    try {
      const u = new URL(this.url);
      u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
      u.pathname = '/api/ice-servers';
      u.search = '';
      u.hash = '';
      url = u.href;
    } catch {
      return null;
    }
    const t = await this._token('refresh');
    const headers = t.token ? { authorization: `Bearer ${t.token}` } : {};
    const ctl = typeof AbortController === 'function' ? new AbortController() : null;
    let timer;
    try {
      return await Promise.race([
        (async () => {
          const res = await f(url, { headers, cache: 'no-store', signal: ctl?.signal });
          if (!res || !res.ok) return null;
          const body = await res.json();
          if (!isObj(body) || !Array.isArray(body.iceServers)) return null;
          const servers = validIceServers(body.iceServers);
          return { servers, ttlMs: iceTtlMs(body.ttl, servers) };
        })(),
        new Promise((resolve) => {
          timer = setTimeout(() => { ctl?.abort(); resolve(null); }, ICE_FETCH_TIMEOUT_MS);
        }),
      ]);
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends refresh-token with a fresh token (reason: 'expired' or 'refresh'). */
  async _refresh(reason) {
    const ws = this._ws;
    const seq = ++this._refreshSeq;
    const t = await this._token(reason);
    if (ws !== this._ws || this.state !== 'open' || seq !== this._refreshSeq) return;
    if (t.error) {
      this._emit('error', t.error);
      return;
    }
    if (!t.token) {
      if (reason === 'expired') {
        this._emit('error', new PortholeError('token-expired',
          'the token expired and the token function gave no new one: the cloud will close the connection', {}));
      }
      return;
    }
    this._send({ type: 'refresh-token', token: t.token });
  }

  /** The cloud refused our registration (or the token is unusable): wait for setToken(). */
  _unauthorized(error) {
    clearTimeout(this._registerTimer);
    this._registerGen = -1;
    this.authReason = typeof error.detail?.reason === 'string' ? error.detail.reason : 'unauthorized';
    for (const [rid, s] of this._pending) {
      this._pending.delete(rid);
      s._fail(new PortholeError('unauthorized', error.message, error.detail), 'unauthorized');
    }
    this._failRequests(new PortholeError('unauthorized', error.message, error.detail));
    this._emit('error', error);
    this._setState('unauthorized', { reason: this.authReason });
  }

  _unauthorizedError() {
    return new PortholeError('unauthorized',
      `the cloud refused this viewer's token (${this.authReason}); setToken() gives it another`,
      { reason: this.authReason });
  }

  _drop(ws, error) {
    this._ws = null;
    try { ws.close(); } catch { /* ignore */ }
    this._down(error);
  }

  /**
   * Signaling is down: detach sessions, mark robots unknown, schedule a
   * retry. What the cloud never answered and can safely be asked again
   * waits for the next connection, within its own time limit: sessions not
   * created yet (asked again) and requests not sent yet. Requests already
   * sent are rejected: they may not be idempotent. Without reconnect
   * everything waiting ends now.
   */
  _down(error) {
    clearTimeout(this._registerTimer);
    this._registerGen = -1;
    this._wasOpen = false;
    this._lastError = error;
    const again = this.options.reconnect && this.state !== 'closed';
    for (const [rid, s] of this._pending) {
      if (again) {
        s._unsent = s._createMsg;
        continue;
      }
      this._pending.delete(rid);
      s._fail(new PortholeError('cloud-unreachable', s._createMsg && !s._unsent
        ? 'the cloud connection was lost before the session started'
        : `not connected to the cloud (${error.message})`), 'signaling-lost');
    }
    for (const s of [...this._sessions.values()]) s._detach();
    this._sessions.clear();
    this._failRequests(new PortholeError('cloud-unreachable', 'the cloud connection was lost before the robot answered'), true);
    if (!again) this._failRequests(new PortholeError('cloud-unreachable', `not connected to the cloud (${error.message})`));
    if (this.state === 'closed') return;
    if (!this.options.reconnect) {
      this._emit('error', error);
      this._setState('closed');
      return;
    }
    const delay = backoffDelay(this._attempt, this.options.minBackoffMs, this.options.maxBackoffMs);
    this._attempt++;
    this.nextAttemptAt = Date.now() + delay;
    error.detail = { ...(error.detail || {}), retryInMs: delay, attempt: this._attempt };
    this._emit('error', error);
    this._setState('reconnecting', { retryInMs: delay });
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => { this._retryTimer = null; this._open(); }, delay);
  }

  _send(msg) {
    return this._sendText(JSON.stringify(msg));
  }

  _sendText(text) {
    const ws = this._ws;
    if (!ws || ws.readyState !== 1) return false;
    try {
      ws.send(text);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Rejects every robot request still waiting (sentOnly: only those sent,
   * not those waiting for the connection); error.message is prefixed with
   * what each asked.
   */
  _failRequests(error, sentOnly = false) {
    for (const req of [...this._requests.values()]) {
      if (sentOnly && req.unsent) continue;
      req.reject(new PortholeError(error.code, `${req.what}: ${error.message}`, error.detail));
    }
  }

  _protocolError(what, msg) {
    this._emit('error', new PortholeError('protocol', `ignored a message from the cloud: ${what}`, { message: msg }));
  }

  _onMessage(data) {
    if (typeof data !== 'string') return this._protocolError('not a text frame');
    if (data.length > 16 << 20) return this._protocolError('too large');
    let m;
    try {
      m = JSON.parse(data);
    } catch {
      return this._protocolError('not JSON', data.slice(0, 200));
    }
    if (!isObj(m) || !isStr(m.type, 64)) return this._protocolError('not an object with a type', m);
    try {
      this._dispatch(m);
    } catch (e) {
      // A bug of ours must not take the connection down.
      this._emit('error', new PortholeError('protocol', `failed to handle '${m.type}': ${e?.message || e}`, { message: m }));
    }
  }

  _dispatch(m) {
    switch (m.type) {
      case 'available-robots': return this._onAvailableRobots(m);
      case 'robot-available': return this._onRobotAvailable(m);
      case 'robot-unavailable': return this._onRobotUnavailable(m);
      case 'session-created': return this._onSessionCreated(m);
      case 'session-error': return this._onSessionError(m);
      case 'error': return this._onError(m);
      case 'robot-response': return this._onRobotResponse(m);
      case 'token-refreshed': return this._onTokenRefreshed(m);
      case 'session-closed':
      case 'webrtc-offer':
      case 'webrtc-answer':
      case 'ice-candidate':
      case 'stream-type-switched':
      case 'stream-type-switch-error': {
        if (!isStr(m.sessionId, 64)) return this._protocolError(`${m.type} without a sessionId`, m);
        const s = this._sessions.get(m.sessionId);
        if (!s) return undefined; // a session we closed already
        this._emit('message', m);
        return s._onSignal(m);
      }
      default:
        this._emit('message', m); // newer protocol: not ours to judge
        return undefined;
    }
  }

  _onAvailableRobots(m) {
    if (!Array.isArray(m.robots)) return this._protocolError('available-robots without a robots array', m);
    if (this.state === 'unauthorized') return this._protocolError('available-robots while unauthorized', m);
    clearTimeout(this._registerTimer);
    if (isName(m.clientId)) this.clientId = m.clientId;
    // The ICE servers for sessions this viewer offers (before any
    // session-created): the cloud sends them with the robot list.
    if (Array.isArray(m.iceServers)) {
      const servers = validIceServers(m.iceServers);
      this._ice = { servers, at: Date.now(), ttlMs: iceTtlMs(m.iceServersTtl, servers) };
    } else {
      this._ice = null;
    }
    const registeredGen = this._registerGen;
    this._registerGen = -1;
    this.authReason = null;
    if (finite(m.expiresAt) !== null) this.tokenExpiresAt = m.expiresAt;
    const seen = new Set();
    for (const r of m.robots) {
      if (!isObj(r) || !isName(r.robotId)) {
        this._protocolError('a robot entry without a valid robotId', r);
        continue;
      }
      seen.add(r.robotId);
      this._upsertRobot(r, false);
    }
    for (const r of this.robots.values()) {
      if (!seen.has(r.robotId) && r.online) {
        r.online = false;
        r.offlineSince = Date.now();
        this._emit('robot-unavailable', r);
      }
    }
    this._attempt = 0;
    this._everOpen = true;
    this._wasOpen = true;
    this._emit('message', m);
    this._setState('open');
    this._emit('robots', this.list());
    this._lastError = null;
    this._flushWaiting();
    // setToken() while the registration was under way: hand the cloud the new token too.
    if (registeredGen !== -1 && registeredGen !== this._tokenGen && this.#token !== null) this._refresh('refresh');
    return undefined;
  }

  /**
   * Registered: sends the sessions and robot requests that waited for the
   * connection, in call order: the sessions first, each once its offer is
   * made (viewerOffers); requests asked meanwhile wait behind them.
   */
  async _flushWaiting() {
    const ws = this._ws;
    this._flushing = true;
    try {
      for (;;) {
        const s = [...this._pending.values()].find((x) => x._unsent);
        if (!s) break;
        const msg = s._unsent;
        s._unsent = null;
        const making = s._sendCreate(msg);
        if (!making) continue; // sent at once: nothing to wait for (the robot offers)
        await making;
        if (ws !== this._ws || this.state !== 'open') return; // lost: the next registration flushes
      }
    } finally {
      this._flushing = false;
    }
    for (const req of [...this._requests.values()]) {
      if (!req.unsent) continue;
      const text = req.unsent;
      req.unsent = null;
      if (!this._sendText(text)) req.reject(new PortholeError('cloud-unreachable', `${req.what}: not connected to the cloud`));
    }
  }

  _onTokenRefreshed(m) {
    const at = finite(m.expiresAt);
    if (at === null) return this._protocolError('token-refreshed without a numeric expiresAt', m);
    this.tokenExpiresAt = at;
    this._emit('message', m);
    this._emit('token-refreshed', { expiresAt: at });
    return undefined;
  }

  _upsertRobot(r, announce) {
    const prev = this.robots.get(r.robotId);
    const info = robotInfo(r.robotId, r.deviceInfo, r.connectedAt);
    this.robots.set(r.robotId, info);
    if (!prev || !prev.online || announce) this._emit('robot-available', info);
    return info;
  }

  _onRobotAvailable(m) {
    if (!isName(m.robotId)) return this._protocolError('robot-available without a valid robotId', m);
    this._emit('message', m);
    this._upsertRobot(m, true);
    this._emit('robots', this.list());
    return undefined;
  }

  _onRobotUnavailable(m) {
    if (!isName(m.robotId)) return this._protocolError('robot-unavailable without a valid robotId', m);
    this._emit('message', m);
    const r = this.robots.get(m.robotId);
    if (!r || !r.online) return undefined;
    r.online = false;
    r.offlineSince = Date.now();
    this._emit('robot-unavailable', r);
    this._emit('robots', this.list());
    return undefined;
  }

  _onSessionCreated(m) {
    if (!isStr(m.sessionId, 64) || !SESSION_RE.test(m.sessionId)) {
      return this._protocolError('session-created without a valid sessionId', m);
    }
    const s = typeof m.requestId === 'string' ? this._pending.get(m.requestId) : undefined;
    this._emit('message', m);
    if (!s) {
      // Not ours (or given up on): tell the cloud we do not want it.
      this._send({ type: 'close-session', sessionId: m.sessionId });
      return undefined;
    }
    this._pending.delete(m.requestId);
    this._sessions.set(m.sessionId, s);
    const servers = validIceServers(m.iceServers);
    s._onCreated(m.sessionId, servers, iceTtlMs(m.iceServersTtl, servers));
    return undefined;
  }

  _onSessionError(m) {
    const error = typeof m.error === 'string' ? m.error.slice(0, 500) : 'session error';
    const code = typeof m.code === 'string' ? m.code.slice(0, 64) : null;
    this._emit('message', m);
    if (isStr(m.sessionId, 64)) {
      const s = this._sessions.get(m.sessionId);
      if (s) s._onSessionError(error, code);
      return undefined;
    }
    const s = typeof m.requestId === 'string' ? this._pending.get(m.requestId) : undefined;
    if (!s) return this._protocolError('session-error for no session of ours', m);
    this._pending.delete(m.requestId);
    const sdkCode = code === 'robot-not-found' || code === 'session-limit' ? code : 'session-error';
    s._fail(new PortholeError(sdkCode, error, { code }), sdkCode);
    return undefined;
  }

  /**
   * An answer to request(). One whose requestId is not waiting here (unknown,
   * timed out, already answered) is reported as a 'protocol' error and
   * dropped; one that is malformed (status not an integer in 100..599, or
   * another robot's) is reported and rejects its request, which would
   * otherwise only time out.
   */
  _onRobotResponse(m) {
    const req = typeof m.requestId === 'string' ? this._requests.get(m.requestId) : undefined;
    if (!req) return this._protocolError('robot-response to no request waiting (unknown, timed out or already answered)', m);
    let why = null;
    if (!Number.isInteger(m.status) || m.status < 100 || m.status > 599) why = 'its status is not an integer in 100..599';
    else if (m.robotId !== undefined && m.robotId !== req.robotId) why = `it names robot ${JSON.stringify(m.robotId)}`;
    if (why) {
      this._protocolError(`robot-response to ${req.what}: ${why}`, m);
      req.reject(new PortholeError('protocol', `${req.what}: the answer was malformed (${why})`, { message: m }));
      return undefined;
    }
    this._emit('message', m);
    const body = m.body === undefined ? null : m.body;
    req.resolve({ status: m.status, body, ok: m.status >= 200 && m.status <= 299 });
    return undefined;
  }

  /**
   * The errors of sign-in (docs/PROTOCOL.md): 'unauthorized' answering our
   * client-register (or arriving before we are registered), 'unauthorized'
   * answering refresh-token (the old token stays in force), and
   * 'token-expired' (refresh now, or the cloud closes the connection after
   * graceSeconds). Returns true when m was one of them.
   */
  _onAuthError(m, code, text, reason) {
    if (code === 'token-expired') {
      if (this.state !== 'open') return true;
      const grace = finite(m.graceSeconds);
      if (typeof this.#token === 'function') {
        this._refresh('expired');
      } else {
        this._emit('error', new PortholeError('token-expired', `the token expired: the cloud closes the connection${
          grace === null ? '' : ` in ${grace} s`} unless setToken() gives a new one`, { graceSeconds: grace }));
      }
      return true;
    }
    if (code !== 'unauthorized') return false;
    const detail = { code, reason: reason || 'unauthorized', requestType: m.requestType };
    if (m.requestType === 'refresh-token') {
      this._emit('error', new PortholeError('unauthorized', `the cloud refused the new token: ${text}`, detail));
      return true;
    }
    if (this.state === 'unauthorized') return true; // known already; nothing is in flight
    if (this.state === 'open' || (m.requestType !== undefined && m.requestType !== 'client-register')) return false;
    if (this._registerGen !== -1 && this._registerGen !== this._tokenGen) {
      this._retryRegistration(); // setToken() since we registered: try the new token instead
    } else {
      this._unauthorized(new PortholeError('unauthorized', `the cloud wants a valid token: ${text}`, detail));
    }
    return true;
  }

  _onError(m) {
    const code = typeof m.code === 'string' ? m.code.slice(0, 64) : 'unknown';
    // The human text is `message` in the first protocol, `error` in the auth errors: take either.
    const said = typeof m.message === 'string' ? m.message : typeof m.error === 'string' ? m.error : null;
    const text = said !== null ? said.slice(0, 500) : code;
    const reason = typeof m.reason === 'string' ? m.reason.slice(0, 64) : undefined;
    this._emit('message', m);
    if (this._onAuthError(m, code, text, reason)) return;
    const err = new PortholeError('cloud-error', `the cloud refused a message: ${text}`,
      { code, reason, requestType: m.requestType, requestId: m.requestId });
    const req = typeof m.requestId === 'string' ? this._requests.get(m.requestId) : undefined;
    if (req) {
      req.reject(new PortholeError('cloud-error', `${req.what}: the cloud refused it: ${text}`,
        { code, reason, requestType: m.requestType, requestId: m.requestId }));
      return;
    }
    const pending = typeof m.requestId === 'string' ? this._pending.get(m.requestId) : undefined;
    if (pending) {
      this._pending.delete(m.requestId);
      pending._fail(err, 'session-error');
      return;
    }
    if (m.requestType === 'client-register') {
      // Refused for another reason than the token (client-id-in-use): retry later, with backoff.
      const ws = this._ws;
      this._emit('error', err);
      if (ws) this._drop(ws, new PortholeError('cloud-error', `registration refused: ${text}`, { code }));
      return;
    }
    this._emit('error', err);
  }
}

/**
 * A session: one robot's video, peer to peer.
 *
 * Properties: id (sessionId, null until the cloud created it), robotId,
 * state, signaling ('attached' or 'detached': the cloud connection this
 * session was made on is gone, but media may still flow), streamTypes,
 * stream (a MediaStream, its track added when media arrives), telemetry
 * (the robot's last telemetry object, or null), error (last PortholeError).
 *
 * Events (on(type, fn); fn receives the detail):
 * - 'state' {state}: 'requesting', 'negotiating', 'connecting', 'connected',
 *   'interrupted' (the video stopped or ICE failed: an ICE restart is under
 *   way on the same session), 'closed'.
 * - 'track' {track, stream}: media arrived; stream is session.stream.
 * - 'streamtypes' {streamTypes}: the robot switched streams.
 * - 'signaling' {signaling}: 'detached' when the cloud connection is lost.
 * - 'telemetry' object: the robot's telemetry (once a second).
 * - 'error' PortholeError.
 * - 'closed' {reason, message, error?}: the session is over; reason is one of
 *   'closed-by-client', 'closed-by-robot', 'peer-disconnected',
 *   'server-shutdown', 'signaling-lost', 'connection-failed', 'timeout',
 *   'robot-not-found', 'session-limit', 'session-error', 'unauthorized'
 *   (the cloud refused the viewer's token), 'failed'.
 */
export class Session extends Emitter {
  constructor(cloud, robotId, opts) {
    super();
    this._cloud = cloud;
    this.robotId = typeof robotId === 'string' ? robotId : String(robotId);
    this.id = null;
    this.state = 'requesting';
    this.signaling = 'attached';
    this.streamTypes = isStreamList(opts.streamTypes) ? opts.streamTypes.slice() : ['color'];
    this.stream = typeof MediaStream === 'function' ? new MediaStream() : null;
    this.telemetry = null;
    this.error = null;
    this.closeReason = null;
    /** Glass-to-glass latency in ms from the colour frames' marker, or null. */
    this.latencyMs = null;
    /** ICE restarts answered on this session (its path died and came back). */
    this.iceRestarts = 0;
    this._opts = {
      // The page's own servers win; null means "whatever the cloud hands out".
      iceServers: Array.isArray(opts.iceServers) ? opts.iceServers
        : Array.isArray(cloud.options.iceServers) ? cloud.options.iceServers : null,
      iceTransportPolicy: (opts.iceTransportPolicy ?? cloud.options.iceTransportPolicy) === 'relay' ? 'relay' : 'all',
      lowLatency: typeof opts.lowLatency === 'boolean' ? opts.lowLatency : cloud.options.lowLatency,
    };
    // This side offers (create-session's offer) until a robot that does not
    // know the field offers itself (_onOffer rolls ours back and answers).
    this._offers = (typeof opts.viewerOffers === 'boolean' ? opts.viewerOffers : cloud.options.viewerOffers) !== false;
    this._making = null;          // the first offer being made (a Promise), or null
    this._localCands = [];        // our candidates gathered before session-created (offering)
    this._gathered = false;       // ...and whether gathering completed then
    this._requestId = null;       // create-session's requestId, until session-created
    this._createMsg = null;       // the create-session message (asked again after a lost connection)
    this._unsent = null;          // create-session waiting for the cloud connection, or null
    this._pc = null;
    this._chain = Promise.resolve();
    this._timer = null;
    this._switch = null;
    this._prevStats = null;
    this._videos = new Set();
    this._connectedOnce = false;
    this._restartAskedAt = -Infinity;
    this._stallTimer = null;
    this._iceFromCloud = false;   // _opts.iceServers came from the cloud (and may be refreshed)
    this._iceAt = 0;              // when they came (Date.now())
    this._iceTtlMs = 0;           // how long their TURN credentials last (0: unknown)
    this._iceFetch = null;        // GET /api/ice-servers in flight, or null
    this._armTimer(cloud.options.sessionTimeoutMs, () => (this._unsent
      ? cloud._notConnectedError('', cloud.options.sessionTimeoutMs)
      : new PortholeError('timeout', 'the cloud did not create the session in time')));
    // Metric depth (depth.js): its channels, latest frame and geometry.
    let depthReq = null;
    try { depthReq = depthRequest(opts.depth); } catch (e) { this._depthError = e.message; }
    this._depth = new DepthLink((type, detail) => this._emit(type, detail), depthReq);
  }

  /** The latest depth frame (a DepthFrame of depth.js), or null. */
  get depth() { return this._depth.frame; }

  /** The depth channel's state: {config, calibration, colormap, error, frames, bytes}. */
  get depthInfo() {
    const d = this._depth;
    return { config: d.config, calibration: d.calibration, colormap: d.colormap, error: d.error, frames: d.frames, bytes: d.bytes };
  }

  /** Changes the depth channel's {rate, decimation, color}; resolves with the settings in force. */
  setDepth(opts) { return this._depth.setDepth(opts); }

  /** Sets the depth video's colormap {colormap: 'jet'|'turbo'|'gray', near, far} (robot-wide). */
  setDepthColormap(opts) { return this._depth.setColormap(opts); }

  /** Depth in metres at pixel (x, y) of stream (default: the video's), or null. */
  depthAt(x, y, stream = this.streamTypes[0]) { return this._depth.frame?.depthAt(x, y, stream) ?? null; }

  /** The 3D point (metres, depth camera frame) at pixel (x, y) of stream, or null. */
  deproject(x, y, stream = this.streamTypes[0]) { return this._depth.frame?.deproject(x, y, stream) ?? null; }

  /** The latest depth frame as {positions, colors, count} Float32Arrays, or null. */
  pointCloud(opts) { return this._depth.frame?.pointCloud(opts) ?? null; }

  /** The RTCPeerConnection (null before the offer and after close). */
  get peerConnection() { return this._pc; }

  /**
   * Shows the session's video in a <video> element (muted, inline,
   * autoplaying) and measures glass-to-glass latency from colour frames where
   * the browser has requestVideoFrameCallback. Returns a function that stops
   * the latency measurement.
   * @param {HTMLVideoElement} video
   */
  attach(video) {
    if (!video || typeof video !== 'object') return () => {};
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    if (this.stream && video.srcObject !== this.stream) video.srcObject = this.stream;
    video.play?.().catch(() => { /* autoplay waits for the track */ });
    this._videos.add(video);
    let stopped = false;
    const scratch = typeof OffscreenCanvas === 'function'
      ? new OffscreenCanvas(MARKER_BLOCKS * 4, 4) : globalThis.document?.createElement('canvas');
    let last = 0;
    const onFrame = (now) => {
      if (stopped || this.state === 'closed') return;
      // Read at most 5 times a second: the read costs a small GPU readback.
      if (now - last > 200 && scratch) {
        last = now;
        if (this.streamTypes[0] === 'color') {
          try {
            const marker = readMarker(video, scratch);
            this.latencyMs = marker === null ? null : markerAge(marker);
          } catch {
            this.latencyMs = null;
          }
        } else {
          this.latencyMs = null;
        }
      }
      video.requestVideoFrameCallback(onFrame);
    };
    if (typeof video.requestVideoFrameCallback === 'function') video.requestVideoFrameCallback(onFrame);
    return () => { stopped = true; this._videos.delete(video); };
  }

  /**
   * Asks the robot to send another stream type instead. Resolves with the
   * new stream types once the robot confirms; rejects with a PortholeError
   * (also emitted as 'error' when the robot refuses) otherwise. A newer call
   * supersedes a pending one.
   * @param {string} type 'color', 'depth', 'infrared-1' or 'infrared-2'
   * @returns {Promise<string[]>}
   */
  switchStream(type) {
    const types = Array.isArray(type) ? type : [type];
    if (!isStreamList(types)) {
      return Promise.reject(new PortholeError('invalid-argument', `invalid stream type: ${JSON.stringify(type)}`));
    }
    if (this.state === 'closed') return Promise.reject(new PortholeError('closed', 'the session is closed'));
    if (this.signaling !== 'attached' || !this.id) {
      return Promise.reject(new PortholeError('signaling-unavailable',
        this.id ? 'the cloud connection was lost; reconnect the session to switch streams'
          : 'the session is not set up yet'));
    }
    if (this._switch) this._switch.reject(new PortholeError('switch-failed', 'superseded by a newer switch'));
    return new Promise((resolve, reject) => {
      const sw = {
        types,
        resolve: (v) => { clearTimeout(sw.timer); this._switch = null; resolve(v); },
        reject: (e) => { clearTimeout(sw.timer); this._switch = null; reject(e); },
        timer: setTimeout(() => sw.reject(new PortholeError('timeout', 'the robot did not confirm the stream switch')),
          this._cloud.options.switchTimeoutMs),
      };
      this._switch = sw;
      if (!this._cloud._send({ type: 'switch-stream-type', sessionId: this.id, streamTypes: types })) {
        sw.reject(new PortholeError('signaling-unavailable', 'not connected to the cloud'));
      }
    });
  }

  /**
   * Asks the robot for an ICE restart on this session now (it also happens
   * by itself when the video stops). The robot answers with a new offer,
   * which this session takes without a new peer connection; iceRestarts
   * counts them. Returns false when it cannot ask (no cloud connection, not
   * set up, closed, or asked less than 3 s ago).
   */
  restartIce() {
    if (this.state === 'closed' || !this._connectedOnce) return false;
    const before = this._restartAskedAt;
    this._askRestart('requested');
    return this._restartAskedAt !== before;
  }

  /**
   * Ends the session: tells the cloud (when connected), closes the peer
   * connection and stops the tracks. Emits 'closed' once. Safe to call twice.
   */
  close() {
    if (this.state === 'closed') return;
    if (this.id && this.signaling === 'attached') this._cloud._send({ type: 'close-session', sessionId: this.id });
    this._finish('closed-by-client', null);
  }

  /**
   * The current receive statistics, with rates over the time since the
   * previous call (the first call reports rates since the start).
   * @returns {Promise<SessionStats|null>} null when there is no connection
   */
  async stats() {
    const pc = this._pc;
    if (!pc) return null;
    let report;
    try {
      report = await pc.getStats();
    } catch {
      return null;
    }
    return this._summarize(report);
  }

  // --- internals -----------------------------------------------------------

  _setState(state) {
    if (this.state === state || this.state === 'closed') return;
    this.state = state;
    this._emit('state', { state });
  }

  /** Ends the session with reason 'timeout' after ms; why: a sentence, or a function giving the PortholeError. */
  _armTimer(ms, why) {
    clearTimeout(this._timer);
    this._timer = setTimeout(() => {
      const err = typeof why === 'function' ? why() : new PortholeError('timeout', why);
      if (this.id && this.signaling === 'attached') this._cloud._send({ type: 'close-session', sessionId: this.id });
      this._fail(err, 'timeout');
    }, ms);
  }

  _fail(error, reason) {
    if (this.state === 'closed') return;
    this.error = error;
    this._emit('error', error);
    this._finish(reason, error);
  }

  _finish(reason, error) {
    if (this.state === 'closed') return;
    clearTimeout(this._timer);
    clearInterval(this._stallTimer);
    if (this._switch) this._switch.reject(new PortholeError('closed', 'the session closed'));
    this._depth.close();
    const pc = this._pc;
    this._pc = null;
    if (pc) {
      pc.onicecandidate = pc.ontrack = pc.onconnectionstatechange = pc.ondatachannel = null;
      try { pc.close(); } catch { /* ignore */ }
    }
    for (const t of this.stream?.getTracks() || []) t.stop();
    if (this._requestId) this._cloud._pending.delete(this._requestId);
    if (this.id && this._cloud._sessions.get(this.id) === this) this._cloud._sessions.delete(this.id);
    this.closeReason = reason;
    this.state = 'closed';
    this._emit('state', { state: 'closed' });
    this._emit('closed', { reason, message: closeMessage(reason, error), error: error || undefined });
  }

  /**
   * Sends create-session (msg): as it is when the robot offers; else with
   * this side's offer, made first (once; sent again as it was after a lost
   * cloud connection). Returns null when sent at once, else a promise that
   * resolves once it is sent (or given up) and never rejects.
   */
  _sendCreate(msg) {
    if (!this._offers) {
      this._cloud._send(msg);
      return null;
    }
    if (!this._making) this._making = this._makeOffer();
    return this._making.then((sdp) => {
      if (!sdp || this.state === 'closed' || this.id) return;
      const text = JSON.stringify({ ...msg, offer: { type: 'offer', sdp } });
      if (text.length > this._cloud.options.maxMessageBytes) {
        this._fail(new PortholeError('invalid-argument', `the offer is too large (${text.length} bytes)`), 'failed');
        return;
      }
      if (!this._cloud._sendText(text)) this._unsent = msg; // lost meanwhile: _down asks again
    });
  }

  /**
   * The ICE servers for a session this side offers: the page's own, else
   * the cloud's from its robot list while their credentials are fresh, else
   * fresh ones from GET /api/ice-servers (a round trip, only for a
   * connection older than its TURN credentials).
   */
  async _offerIceServers() {
    if (this._opts.iceServers !== null) return;
    const ice = this._cloud._ice;
    if (!ice) return;
    let r = ice;
    if (ice.ttlMs > 0 && Date.now() - ice.at >= ice.ttlMs - Math.min(60000, ice.ttlMs / 10)) {
      r = await this._cloud._fetchIceServers();
      if (r) this._cloud._ice = r = { servers: r.servers, at: Date.now(), ttlMs: r.ttlMs };
      else r = ice; // the old ones: STUN still works
    }
    this._opts.iceServers = r.servers;
    this._iceFromCloud = true;
    this._iceAt = r.at;
    this._iceTtlMs = r.ttlMs;
  }

  /**
   * The first offer: one recvonly video transceiver per stream type and a
   * data channel, which only puts the application m-line in the offer (the
   * robot opens its telemetry and depth channels on it): negotiated, so the
   * robot never hears of it, and closed at once. Left open, the browser
   * reset its stream and aborted the association when the page closed, and
   * the robot ended 3 sessions in 10 with an SCTP error instead of the
   * client's close. Resolves with its SDP, or null when the session failed.
   */
  async _makeOffer() {
    try {
      await this._offerIceServers();
      if (this.state === 'closed') return null;
      const pc = this._makePc();
      this._pc = pc;
      for (let i = 0; i < this.streamTypes.length; i++) pc.addTransceiver('video', { direction: 'recvonly' });
      const dc = pc.createDataChannel('porthole', { negotiated: true, id: 1023 });
      await pc.setLocalDescription(await pc.createOffer());
      dc.close();
      return pc === this._pc ? pc.localDescription.sdp : null;
    } catch (e) {
      this._fail(new PortholeError('no-webrtc', `cannot make an offer: ${e?.message || e}`), 'failed');
      return null;
    }
  }

  _onCreated(sessionId, cloudIceServers, ttlMs) {
    this.id = sessionId;
    if (this._opts.iceServers === null || (this._iceFromCloud && ttlMs > 0)) {
      // For the next gathering (an ICE restart): the freshest credentials.
      this._opts.iceServers = cloudIceServers;
      this._iceFromCloud = true;
      this._iceAt = Date.now();
      this._iceTtlMs = ttlMs;
    }
    this._setState('negotiating');
    this._armTimer(this._cloud.options.offerTimeoutMs,
      this._offers ? 'the robot sent no answer in time' : 'the robot sent no offer in time');
    // Our candidates gathered while the session was being created.
    const early = this._localCands;
    this._localCands = [];
    for (const c of early) this._sendCandidate(c);
    if (this._gathered) this._sendCandidate(null);
  }

  _sendCandidate(c) {
    this._cloud._send({
      type: 'ice-candidate',
      sessionId: this.id,
      candidate: c ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } : null,
    });
  }

  /** The robot's answer to our offer (the first, or an ICE restart's). */
  _onAnswer(sdp) {
    if (!this._offers) return;
    this._enqueue(async () => {
      const pc = this._pc;
      if (!pc || pc.signalingState !== 'have-local-offer') return;
      const again = pc.remoteDescription !== null;
      await pc.setRemoteDescription({ type: 'answer', sdp });
      if (again) {
        this.iceRestarts++;
      } else if (this.state === 'negotiating') {
        this._setState('connecting');
        this._armTimer(this._cloud.options.connectTimeoutMs, 'the video connection did not come up in time');
      }
    }, 'could not apply the robot\'s answer');
  }

  /** The cloud connection is gone: keep playing media, or give up if there is none yet. */
  _detach() {
    if (this.state === 'closed') return;
    if (this.state !== 'connected' && this.state !== 'interrupted') {
      this._fail(new PortholeError('cloud-unreachable', 'the cloud connection was lost while the session was starting'),
        'signaling-lost');
      return;
    }
    this.signaling = 'detached';
    if (this._switch) this._switch.reject(new PortholeError('signaling-unavailable', 'the cloud connection was lost'));
    this._emit('signaling', { signaling: 'detached' });
  }

  _onSessionError(error, code) {
    const err = new PortholeError('session-error', error, { code });
    // Before media flows nothing else will come: end it. After, the video may go on.
    if (this.state !== 'connected' && this.state !== 'interrupted') {
      if (this.id && this.signaling === 'attached') this._cloud._send({ type: 'close-session', sessionId: this.id });
      this._fail(err, 'session-error');
    } else {
      this.error = err;
      this._emit('error', err);
    }
  }

  _onSignal(m) {
    if (this.state === 'closed') return;
    switch (m.type) {
      case 'session-closed': {
        const reason = typeof m.reason === 'string' ? m.reason.slice(0, 64) : 'closed';
        if (reason === 'server-shutdown' && (this.state === 'connected' || this.state === 'interrupted')) {
          // The cloud is going away; the robot keeps the peer connection.
          this._cloud._sessions.delete(this.id);
          this._detach();
          return;
        }
        // A robot closes the session after a fatal session-error: keep its words.
        this._finish(reason, reason === 'closed-by-robot' ? this.error : null);
        return;
      }
      case 'webrtc-offer':
        if (!isObj(m.offer) || m.offer.type !== 'offer' || !isStr(m.offer.sdp)) {
          this._cloud._protocolError('webrtc-offer without a valid offer', m);
          return;
        }
        this._onOffer(m.offer.sdp);
        return;
      case 'webrtc-answer':
        if (!isObj(m.answer) || m.answer.type !== 'answer' || !isStr(m.answer.sdp)) {
          this._cloud._protocolError('webrtc-answer without a valid answer', m);
          return;
        }
        this._onAnswer(m.answer.sdp);
        return;
      case 'ice-candidate': {
        const c = m.candidate;
        if (c !== null && !(isObj(c) && typeof c.candidate === 'string')) {
          this._cloud._protocolError('ice-candidate without a valid candidate', m);
          return;
        }
        const init = c === null ? null : {
          candidate: c.candidate,
          sdpMid: typeof c.sdpMid === 'string' ? c.sdpMid : null,
          sdpMLineIndex: Number.isInteger(c.sdpMLineIndex) ? c.sdpMLineIndex : null,
        };
        if (init && init.sdpMid === null && init.sdpMLineIndex === null) init.sdpMLineIndex = 0;
        this._enqueue(async () => {
          if (!this._pc) return;
          if (init === null || init.candidate === '') {
            await this._pc.addIceCandidate().catch(() => {}); // end of candidates: harmless if refused
          } else {
            await this._pc.addIceCandidate(init);
          }
        }, 'could not add a remote ICE candidate', false);
        return;
      }
      case 'stream-type-switched':
        if (!isStreamList(m.streamTypes)) {
          this._cloud._protocolError('stream-type-switched without valid streamTypes', m);
          return;
        }
        this.streamTypes = m.streamTypes.slice();
        this.latencyMs = null;
        this._emit('streamtypes', { streamTypes: this.streamTypes.slice() });
        if (this._switch) this._switch.resolve(this.streamTypes.slice());
        return;
      case 'stream-type-switch-error': {
        const text = typeof m.error === 'string' ? m.error.slice(0, 500) : 'the robot could not switch streams';
        const err = new PortholeError('switch-failed', text);
        this.error = err;
        this._emit('error', err);
        if (this._switch) this._switch.reject(err);
        return;
      }
      default:
    }
  }

  /** Runs signaling steps one after another, in arrival order. */
  _enqueue(step, what, fatal = true) {
    this._chain = this._chain.then(step).catch((e) => {
      if (this.state === 'closed') return;
      const err = new PortholeError(fatal ? 'connection-failed' : 'protocol', `${what}: ${e?.message || e}`);
      if (fatal) {
        if (this.id && this.signaling === 'attached') this._cloud._send({ type: 'close-session', sessionId: this.id });
        this._fail(err, 'connection-failed');
      } else {
        this._emit('error', err);
      }
    });
  }

  _makePc() {
    const PC = this._cloud.options.RTCPeerConnection || globalThis.RTCPeerConnection;
    const pc = new PC({
      iceServers: this._opts.iceServers || [],
      iceTransportPolicy: this._opts.iceTransportPolicy,
      bundlePolicy: 'max-bundle',
    });
    pc.onicecandidate = (ev) => {
      if (pc !== this._pc) return;
      if (!this.id) {
        // Offering: gathering starts before the session exists.
        if (ev.candidate) this._localCands.push(ev.candidate);
        else this._gathered = true;
        return;
      }
      if (this.signaling !== 'attached') return;
      this._sendCandidate(ev.candidate);
    };
    pc.ontrack = (ev) => {
      const { track, receiver } = ev;
      if (this._opts.lowLatency) tuneForLowLatency(receiver);
      // One track per requested stream type, in m-line order (normally one).
      if (this.stream && !this.stream.getTracks().includes(track)) this.stream.addTrack(track);
      for (const v of this._videos) {
        if (v.srcObject !== this.stream) v.srcObject = this.stream;
        v.play?.().catch(() => {});
      }
      this._emit('track', { track, stream: this.stream });
    };
    pc.ondatachannel = (ev) => {
      const ch = ev.channel;
      if (this._depth.takeChannel(ch)) return;
      if (ch.label !== 'telemetry') return;
      ch.onmessage = (e) => {
        if (typeof e.data !== 'string' || e.data.length > 65536) return;
        let t;
        try { t = JSON.parse(e.data); } catch { return; }
        if (!isObj(t)) return;
        this.telemetry = t;
        this._telemetryAt = Date.now();
        this._emit('telemetry', t);
      };
    };
    pc.onconnectionstatechange = () => {
      const st = pc.connectionState;
      if (pc !== this._pc) return;
      if (st === 'connected') {
        clearTimeout(this._timer);
        this._setState('connected');
        if (!this._connectedOnce) this._watchVideo();
        this._connectedOnce = true;
      } else if (st === 'disconnected') {
        if (this.state === 'connected') this._setState('interrupted');
        this._askRestart('disconnected');
      } else if (st === 'failed' && this._connectedOnce && this.signaling === 'attached') {
        // The path died: the robot restarts ICE (asked, or on its own after
        // two silent seconds), or ends the session if that does not help.
        this._setState('interrupted');
        this._askRestart('failed');
        this._armTimer(this._cloud.options.connectTimeoutMs, 'the video connection to the robot was lost');
      } else if (st === 'failed' || st === 'closed') {
        const err = new PortholeError('connection-failed', this.state === 'connected' || this.state === 'interrupted'
          ? 'the video connection to the robot was lost' : 'could not connect to the robot (ICE failed)');
        if (this.id && this.signaling === 'attached') this._cloud._send({ type: 'close-session', sessionId: this.id });
        this._fail(err, 'connection-failed');
      }
    };
    return pc;
  }

  /**
   * Asks the robot for an ICE restart, at most once every 3 s. reason
   * 'video-stalled' lets the robot decline while it still hears from this
   * side (the path works; loss or the camera stalled the video).
   */
  _askRestart(reason) {
    const now = Date.now();
    if (this.signaling !== 'attached' || !this.id || now - this._restartAskedAt < 3000) return;
    this._restartAskedAt = now;
    if (this._offers) {
      this._restartByOffer();
      return;
    }
    this._cloud._send({ type: 'ice-restart-request', sessionId: this.id, reason });
    this._freshIceServers(); // under way while the robot's offer comes
  }

  /**
   * This side offers: an ICE restart is its new offer (new credentials, the
   * browser gathers again), which the robot answers (webrtc-answer).
   */
  _restartByOffer() {
    this._enqueue(async () => {
      await this._freshIceServers();
      const pc = this._pc;
      if (!pc || this.state === 'closed' || pc.signalingState !== 'stable') return;
      await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
      if (pc !== this._pc || this.signaling !== 'attached') return;
      this._cloud._send({
        type: 'webrtc-offer', sessionId: this.id, offer: { type: 'offer', sdp: pc.localDescription.sdp },
      });
    }, 'could not make an ICE restart offer', false);
  }

  /**
   * Before an ICE restart: the browser gathers again, and TURN refuses new
   * allocations with expired credentials (the TURN REST scheme: --turn-ttl),
   * which would leave a relayed viewer with no path at all. So when the
   * servers came from the cloud and their credentials are past their TTL
   * (or within a tenth of it, at most 60 s, of the end), fetch fresh ones
   * and give them to the peer connection (setConfiguration: used by the
   * next gathering). The page's own iceServers are never replaced.
   * Resolves when done (or given up: the restart goes on with the old
   * ones); never rejects; one fetch at a time.
   */
  _freshIceServers() {
    const ttl = this._iceTtlMs;
    if (!this._iceFromCloud || !(ttl > 0) || Date.now() - this._iceAt < ttl - Math.min(60000, ttl / 10)) {
      return Promise.resolve();
    }
    if (!this._iceFetch) {
      this._iceFetch = this._cloud._fetchIceServers().then((r) => {
        this._iceFetch = null;
        if (!r || this.state === 'closed') return;
        this._opts.iceServers = r.servers;
        this._iceAt = Date.now();
        this._iceTtlMs = r.ttlMs;
        const pc = this._pc;
        if (!pc || typeof pc.setConfiguration !== 'function') return;
        try {
          const config = typeof pc.getConfiguration === 'function' ? pc.getConfiguration() : {};
          pc.setConfiguration({ ...config, iceServers: r.servers });
        } catch (e) {
          this._emit('error', new PortholeError('protocol', `could not use fresh ICE servers: ${e?.message || e}`));
        }
      });
    }
    return this._iceFetch;
  }

  /**
   * Once connected: reads the received video bytes every half
   * restartAfterMs (at most every 250 ms), and asks for an ICE restart when
   * they stood still for restartAfterMs (a NAT rebinding or a network switch
   * on this side: the browser itself would call the path dead only after
   * several seconds).
   */
  _watchVideo() {
    const after = this._cloud.options.restartAfterMs;
    if (!(after > 0) || typeof setInterval !== 'function') return;
    let bytes = -1;
    let movedAt = Date.now();
    let busy = false;
    this._stallTimer = setInterval(async () => {
      const pc = this._pc;
      if (!pc || busy || this.state === 'closed') return;
      busy = true;
      try {
        let n = 0;
        (await pc.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp' && (s.kind === 'video' || s.mediaType === 'video')) n += s.bytesReceived || 0;
        });
        const now = Date.now();
        if (n !== bytes) {
          bytes = n;
          movedAt = now;
          if (this.state === 'interrupted' && pc.connectionState === 'connected') this._setState('connected');
        } else if (now - movedAt >= after && this.state !== 'closed') {
          if (this.state === 'connected') this._setState('interrupted');
          this._askRestart('video-stalled');
        }
      } catch { /* a closing peer connection */ }
      busy = false;
    }, Math.max(100, Math.min(250, after / 2)));
  }

  _onOffer(sdp) {
    if (!this._pc) {
      try {
        this._pc = this._makePc();
      } catch (e) {
        this._fail(new PortholeError('no-webrtc', `cannot create a peer connection: ${e?.message || e}`), 'failed');
        return;
      }
      this._setState('connecting');
      this._armTimer(this._cloud.options.connectTimeoutMs, 'the video connection did not come up in time');
    }
    this._enqueue(async () => {
      const pc = this._pc;
      if (!pc) return;
      if (this._offers) {
        // A robot that does not know create-session's offer made its own:
        // take ours back and answer (from now on the robot offers).
        this._offers = false;
        if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
        if (this.state === 'negotiating') {
          this._setState('connecting');
          this._armTimer(this._cloud.options.connectTimeoutMs, 'the video connection did not come up in time');
        }
      }
      // A later offer renegotiates the same connection (an ICE restart: new
      // credentials, the browser gathers again); tracks and <video> stay.
      const again = pc.remoteDescription !== null;
      if (again) await this._freshIceServers();
      if (pc !== this._pc) return;
      await pc.setRemoteDescription({ type: 'offer', sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      if (again) this.iceRestarts++;
      if (this.signaling === 'attached') {
        this._cloud._send({
          type: 'webrtc-answer', sessionId: this.id, answer: { type: 'answer', sdp: pc.localDescription.sdp },
        });
      }
    }, 'could not answer the robot\'s offer');
  }

  _summarize(report) {
    const byId = new Map();
    report.forEach((s) => byId.set(s.id, s));
    let inbound = null;
    let pair = null;
    for (const s of byId.values()) {
      if (s.type === 'inbound-rtp' && (s.kind === 'video' || s.mediaType === 'video')) {
        if (!inbound || (s.bytesReceived || 0) > (inbound.bytesReceived || 0)) inbound = s;
      } else if (s.type === 'transport' && s.selectedCandidatePairId) {
        pair = byId.get(s.selectedCandidatePairId) || pair;
      }
    }
    if (!pair) {
      for (const s of byId.values()) {
        if (s.type === 'candidate-pair' && (s.selected || (s.nominated && s.state === 'succeeded'))) pair = s;
      }
    }
    const local = pair ? byId.get(pair.localCandidateId) : null;
    const remote = pair ? byId.get(pair.remoteCandidateId) : null;
    const codec = inbound?.codecId ? byId.get(inbound.codecId) : null;
    const now = finite(inbound?.timestamp) ?? Date.now();
    const prev = this._prevStats;
    const cur = {
      t: now,
      bytes: finite(inbound?.bytesReceived) ?? 0,
      frames: finite(inbound?.framesDecoded) ?? 0,
      decode: finite(inbound?.totalDecodeTime) ?? 0,
      jbDelay: finite(inbound?.jitterBufferDelay) ?? 0,
      jbCount: finite(inbound?.jitterBufferEmittedCount) ?? 0,
    };
    this._prevStats = cur;
    const dt = prev ? (cur.t - prev.t) / 1000 : null;
    const dFrames = prev ? cur.frames - prev.frames : cur.frames;
    const rate = (d) => (dt && dt > 0 ? d / dt : null);
    const tel = this.telemetry && Date.now() - (this._telemetryAt || 0) < 5000 ? this.telemetry : null;
    const stream = this.streamTypes[0];
    const telStream = tel && isObj(tel.streams) && isObj(tel.streams[stream]) ? tel.streams[stream] : null;
    const bw = tel && isObj(tel.bandwidth) ? tel.bandwidth : null;
    const types = [local?.candidateType, remote?.candidateType].filter(Boolean);
    const worst = types.includes('relay') ? 'relay'
      : types.find((t) => t === 'srflx' || t === 'prflx') || types[0] || null;
    /**
     * @typedef {object} SessionStats
     * @property {number} timestamp ms
     * @property {number|null} fps frames decoded per second
     * @property {number|null} bitrateKbps received kbit/s
     * @property {number|null} rttMs ICE round-trip time
     * @property {number|null} width @property {number|null} height
     * @property {number|null} packetsLost @property {number|null} packetsReceived
     * @property {number|null} framesDecoded @property {number|null} framesDropped
     * @property {number|null} decodeTimeMs average per frame
     * @property {number|null} jitterBufferMs average per frame
     * @property {string|null} codec e.g. "VP8"
     * @property {string|null} candidateType host, srflx, prflx or relay (the less direct end)
     * @property {string|null} localCandidateType @property {string|null} remoteCandidateType
     * @property {string|null} protocol udp or tcp
     * @property {string|null} relayProtocol through TURN: how we reach the TURN server (udp, tcp or tls)
     * @property {string|null} turnServer through TURN: the TURN server's URL
     * @property {number|null} latencyMs glass-to-glass, from the colour marker
     * @property {{fps:number|null,bitrateKbps:number|null,viewers:number|null,estimateKbps:number|null,layer:number|null,retransmissions:number|null}|null} robot robot-side telemetry
     * @property {string[]} streamTypes
     */
    return {
      timestamp: now,
      fps: finite(inbound?.framesPerSecond) ?? rate(dFrames),
      bitrateKbps: prev ? rate(((cur.bytes - prev.bytes) * 8) / 1000) : null,
      rttMs: finite(pair?.currentRoundTripTime) !== null ? pair.currentRoundTripTime * 1000 : null,
      width: finite(inbound?.frameWidth),
      height: finite(inbound?.frameHeight),
      packetsLost: finite(inbound?.packetsLost),
      packetsReceived: finite(inbound?.packetsReceived),
      framesDecoded: finite(inbound?.framesDecoded),
      framesDropped: finite(inbound?.framesDropped),
      decodeTimeMs: dFrames > 0 ? ((cur.decode - (prev?.decode || 0)) / dFrames) * 1000 : null,
      jitterBufferMs: prev && cur.jbCount > prev.jbCount
        ? ((cur.jbDelay - prev.jbDelay) / (cur.jbCount - prev.jbCount)) * 1000 : null,
      codec: typeof codec?.mimeType === 'string' ? codec.mimeType.replace(/^video\//i, '') : null,
      candidateType: worst,
      localCandidateType: local?.candidateType || null,
      remoteCandidateType: remote?.candidateType || null,
      protocol: local?.protocol || null,
      relayProtocol: local?.candidateType === 'relay' ? (local.relayProtocol || null) : null,
      turnServer: local?.candidateType === 'relay' ? (local.url || null) : null,
      latencyMs: this.latencyMs,
      robot: telStream ? {
        fps: finite(telStream.fps),
        bitrateKbps: finite(telStream.bitrateKbps),
        viewers: finite(telStream.viewers),
        // This viewer's bandwidth estimate and the rung of the ladder its
        // link carries (the robot's telemetry, "bandwidth"; PROTOCOL.md).
        estimateKbps: bw && bw.reports > 0 ? finite(bw.estimateKbps) : null,
        layer: bw ? finite(bw.layer) : null,
        retransmissions: bw ? finite(bw.rtxSent) : null,
      } : null,
      streamTypes: this.streamTypes.slice(),
    };
  }
}

/**
 * Asks the browser to play received video as soon as it can decode it:
 * jitterBufferTarget (standard, ms; Chrome 114+, Firefox, Safari) and
 * playoutDelayHint (older Chrome, seconds) set to 0. Where neither exists
 * the browser keeps its adaptive default.
 * @param {RTCRtpReceiver} receiver
 */
export function tuneForLowLatency(receiver) {
  if (!receiver) return;
  try { if ('jitterBufferTarget' in receiver) receiver.jitterBufferTarget = 0; } catch { /* unsupported */ }
  try { if ('playoutDelayHint' in receiver) receiver.playoutDelayHint = 0; } catch { /* unsupported */ }
}

/** A sentence for the viewer about why a session closed. */
export function closeMessage(reason, error) {
  switch (reason) {
    case 'closed-by-client': return 'Disconnected.';
    case 'closed-by-robot': return error?.message ? `The robot ended the session: ${error.message}` : 'The robot ended the session.';
    case 'peer-disconnected': return 'The robot went offline; the session ended.';
    case 'server-shutdown': return 'The cloud shut down; the session ended.';
    case 'signaling-lost': return 'Lost the connection to the cloud while the session was starting.';
    case 'connection-failed': return error?.message ? `${cap(error.message)}.` : 'The video connection failed.';
    case 'timeout': return error?.message ? `${cap(error.message)}.` : 'The session timed out.';
    case 'robot-not-found': return 'The robot is not online.';
    case 'session-limit': return 'Too many sessions: close another session first.';
    case 'unauthorized': return 'The cloud requires sign-in: the session could not start.';
    case 'session-error': return `The robot could not start the session: ${error?.message || 'unknown error'}`;
    default: return error?.message ? `${cap(error.message)}.` : `Session ended (${reason}).`;
  }
}

/** A duration for people: '15 s', '1.5 s', '50 ms'. */
function seconds(ms) {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}

function cap(s) {
  return s.charAt(0).toUpperCase() + s.slice(1).replace(/\.$/, '');
}
