// viewer.js - the Porthole viewer page: the live robot list, one tile per
// watched robot (video, stream selector, stats overlay, depth legend,
// snapshot, fullscreen, camera options, metric depth under the pointer and a
// 3D point cloud tab: depthview.js) and a clear message for every failure.
//
// Everything network-facing goes through porthole.js; this file owns the DOM.
// URL parameters: ?cloud=wss://host/ws (signaling URL; default: this page's
// origin), ?watch=robotA,robotB (open these as soon as they are online),
// ?stream=depth (the stream ?watch opens with). Sign-in: #token=<JWT> in the
// fragment (never sent to any server; removed from the address bar at once
// and kept in this tab's sessionStorage), or pasted into the sign-in panel
// that shows when the cloud requires a token.

import { connect, defaultCloudUrl, webrtcSupported, STREAM_TYPES } from './porthole.js';
import { cssGradientOf } from './colormap.js';
import { DepthProbe, DepthView } from './depthview.js';
import { OptionsPanel } from './options.js';

const STREAM_LABELS = { color: 'Colour', depth: 'Depth', 'infrared-1': 'Infrared 1', 'infrared-2': 'Infrared 2' };
/** What a tile asks of the robot's depth channel (docs/VIEWER.md): one
 * coarse frame a second while nobody points at the video (about 3 KB/s:
 * the channel shares the viewer's link with the video, which on a slow
 * link needs all of it), a few finer ones a second while the pointer is
 * over it, for the readout; the 3D tab asks for more. */
const DEPTH_IDLE = Object.freeze({ rate: 1, decimation: 4, color: false });
const DEPTH_POINTING = Object.freeze({ rate: 5, decimation: 2, color: false });
/** How long the finer readout outlasts the pointer leaving the video. */
const POINTING_LINGER_MS = 2000;

const $ = (sel, root = document) => root.querySelector(sel);
const params = new URLSearchParams(location.search);
const watchList = (params.get('watch') || '').split(',').map((s) => s.trim()).filter(Boolean);
const watchStream = STREAM_TYPES.includes(params.get('stream')) ? params.get('stream') : 'color';

const ui = {
  status: $('#cloud-status'),
  signin: $('#signin'),
  signinForm: $('#signin-form'),
  signinWhy: $('#signin-why'),
  signinToken: $('#signin-token'),
  signinSubmit: $('#signin-submit'),
  signout: $('#signout'),
  url: $('#cloud-url'),
  banner: $('#banner'),
  list: $('#robot-list'),
  empty: $('#robot-empty'),
  count: $('#robot-count'),
  grid: $('#grid'),
  robotTemplate: $('#robot-template'),
  tileTemplate: $('#tile-template'),
};

/** @type {import('./porthole.js').Cloud|null} */
let cloud = null;
/** The cloud's signaling URL (null: none usable). */
let cloudUrl = null;
/** robotId -> Tile */
const tiles = new Map();
const hasWebRTC = webrtcSupported();

// --- banner: one message per key, the most recent shown --------------------

const banners = new Map();
function setBanner(key, text, kind = 'error', action = null) {
  if (text) banners.set(key, { text, kind, action });
  else banners.delete(key);
  const last = [...banners.values()].pop();
  ui.banner.hidden = !last;
  if (!last) return;
  ui.banner.dataset.kind = last.kind;
  ui.banner.replaceChildren(document.createTextNode(last.text));
  if (last.action) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn banner-actions';
    b.textContent = last.action.label;
    b.addEventListener('click', last.action.run);
    ui.banner.append(b);
  }
}

function label(type) {
  return STREAM_LABELS[type] || type;
}

function fillStreamSelect(select, streams, value) {
  const keep = value ?? select.value;
  if ([...select.options].map((o) => o.value).join() === streams.join()) {
    if (streams.includes(keep)) select.value = keep;
    return;
  }
  select.replaceChildren(...streams.map((s) => {
    const o = document.createElement('option');
    o.value = s;
    o.textContent = label(s);
    return o;
  }));
  if (streams.includes(keep)) select.value = keep;
}

function clockTime(iso) {
  const d = iso ? new Date(iso) : null;
  return d && !Number.isNaN(d.getTime()) ? d.toLocaleTimeString() : '';
}

// --- robot list --------------------------------------------------------------

function renderRobots() {
  const robots = cloud ? cloud.list() : [];
  const online = robots.filter((r) => r.online).length;
  ui.count.textContent = robots.length ? `${online}/${robots.length}` : '';
  ui.empty.hidden = robots.length > 0;
  const seen = new Set();
  for (const [i, r] of robots.entries()) {
    seen.add(r.robotId);
    let li = ui.list.querySelector(`li[data-robot-id="${CSS.escape(r.robotId)}"]`);
    if (!li) {
      li = ui.robotTemplate.content.firstElementChild.cloneNode(true);
      li.dataset.robotId = r.robotId;
      $('.watch', li).addEventListener('click', () => {
        const t = tiles.get(r.robotId);
        if (t && t.active) t.remove();
        else watch(r.robotId, $('.robot-stream', li).value);
      });
    }
    if (ui.list.children[i] !== li) ui.list.insertBefore(li, ui.list.children[i] || null); // sorted order
    const known = cloud.state === 'open';
    li.dataset.online = known || !r.online ? String(r.online) : 'unknown';
    $('.robot-name', li).textContent = r.name;
    $('.robot-name', li).title = r.deviceInfo.firmwareVersion ? `firmware ${r.firmwareVersion}` : r.name;
    $('.robot-id', li).textContent = r.robotId;
    $('.robot-serial', li).textContent = r.serial || '—';
    $('.robot-online', li).textContent = !known && r.online ? 'status unknown: the cloud is unreachable'
      : r.online ? (r.connectedAt ? `online since ${clockTime(r.connectedAt)}` : 'online')
      : `offline${r.offlineSince ? ` since ${new Date(r.offlineSince).toLocaleTimeString()}` : ''}`;
    const chips = $('.robot-streams', li);
    chips.replaceChildren(...r.streams.map((s) => Object.assign(document.createElement('span'),
      { className: 'chip', textContent: s })));
    fillStreamSelect($('.robot-stream', li), r.streams);
    updateWatchButton(r.robotId);
  }
  for (const li of [...ui.list.children]) if (!seen.has(li.dataset.robotId)) li.remove();
}

function updateWatchButton(robotId) {
  const li = ui.list.querySelector(`li[data-robot-id="${CSS.escape(robotId)}"]`);
  if (!li) return;
  const r = cloud?.robots.get(robotId);
  const t = tiles.get(robotId);
  const watching = Boolean(t && t.active);
  const b = $('.watch', li);
  li.dataset.watching = String(watching);
  b.textContent = watching ? 'Stop' : 'Watch';
  b.classList.toggle('primary', !watching);
  b.classList.toggle('danger', watching);
  b.setAttribute('aria-label', `${watching ? 'Stop watching' : 'Watch'} ${r?.name || robotId}`);
  b.disabled = !watching && (!hasWebRTC || !r?.online || cloud?.state !== 'open');
  $('.robot-stream', li).disabled = watching;
}

function watch(robotId, streamType) {
  let t = tiles.get(robotId);
  if (!t) {
    t = new Tile(robotId);
    tiles.set(robotId, t);
  }
  t.start(streamType);
  t.el.focus({ preventScroll: true });
}

// --- a tile: one robot's video ----------------------------------------------

class Tile {
  constructor(robotId) {
    this.robotId = robotId;
    this.session = null;
    this.streamType = 'color';
    this.userClosed = false;
    this.el = ui.tileTemplate.content.firstElementChild.cloneNode(true);
    this.el.dataset.robotId = robotId;
    this.video = $('.video', this.el);
    this.select = $('.tile-stream', this.el);
    this.statsEl = $('.stats', this.el);
    this.note = $('.note', this.el);
    this.message = $('.message', this.el);
    this.badge = $('.badge.detached', this.el);
    this.legend = $('.legend', this.el);
    this._stopLatency = () => {};
    this.probe = new DepthProbe(this.video, $('.probe', this.el), () => this.session);
    this.pointing = false;
    this._pointingTimer = null;
    this.video.addEventListener('pointerenter', () => this._point(true));
    this.video.addEventListener('pointerleave', () => this._point(false));
    this.view3d = new DepthView($('.cloud3d', this.el), () => this.session);
    this._buildLegend();
    this.options = new OptionsPanel($('.options', this.el), $('.options-toggle', this.el), cloud, robotId);
    const robot = cloud?.robots.get(robotId);
    fillStreamSelect(this.select, robot?.streams || STREAM_TYPES);
    this._title();

    this.select.addEventListener('change', () => this.switchTo(this.select.value));
    $('.snapshot', this.el).addEventListener('click', () => this.snapshot());
    $('.fullscreen', this.el).addEventListener('click', () => this.toggleFullscreen());
    $('.stats-toggle', this.el).addEventListener('click', () => this.toggleStats());
    $('.close', this.el).addEventListener('click', () => this.remove());
    $('.view3d', this.el).addEventListener('click', () => this.toggle3d());
    for (const c of this.legend.querySelectorAll('.legend-controls select, .legend-controls input')) {
      c.addEventListener('change', () => this._setColormap());
    }
    $('.retry', this.el).addEventListener('click', () => this.start(this.streamType));
    $('.dismiss', this.el).addEventListener('click', () => this.remove());
    this.badge.addEventListener('click', () => this.start(this.streamType));
    this.el.addEventListener('keydown', (e) => this._onKey(e));
    this.video.addEventListener('dblclick', () => this.toggleFullscreen());
    ui.grid.append(this.el);
    this._statsTimer = setInterval(() => this._updateStats(), 1000);
  }

  get active() {
    return Boolean(this.session && this.session.state !== 'closed');
  }

  _title() {
    const r = cloud?.robots.get(this.robotId);
    $('.tile-id', this.el).textContent = this.robotId;
    $('.tile-name', this.el).textContent = r ? r.name : '';
    this.el.setAttribute('aria-label', `Video of ${r?.name || this.robotId}`);
    $('.options', this.el).setAttribute('aria-label', `Camera options of ${r?.name || this.robotId}`);
  }

  /** Opens a new session (closing the current one) on streamType. */
  start(streamType) {
    this.streamType = streamType || this.streamType;
    this.userClosed = false;
    this._dropSession();
    this._setMessage(null);
    this._setNote(null);
    this.badge.hidden = true;
    this.select.value = this.streamType;
    this.select.disabled = false;
    this._showStream(this.streamType);
    if (!hasWebRTC) {
      this._setMessage('This browser does not support WebRTC, so it cannot show robot video.', 'error', false);
      return;
    }
    // Metric depth whenever the camera has a depth stream: the pointer
    // readout and the 3D tab use it; a robot that cannot serve it says why.
    const hasDepth = (cloud.robots.get(this.robotId)?.streams || STREAM_TYPES).includes('depth');
    const s = cloud.openSession(this.robotId, { streamTypes: [this.streamType], depth: hasDepth ? this._depthWanted() : false });
    this.session = s;
    this.view3d.unavailable = hasDepth ? null : 'this robot\'s camera has no depth stream';
    s.on('depth', (f) => { if (s === this.session) { this.view3d.onFrame(f); this.probe.refresh(); } });
    s.on('depthconfig', (c) => { if (s === this.session) this.view3d.syncSettings(c); });
    s.on('depthcolormap', (c) => { if (s === this.session) this._buildLegend(c); });
    s.on('deptherror', (e) => {
      if (s !== this.session) return;
      this.view3d._explain();
      this._setNote(`Depth: ${e.message}`, 'error', 8000);
    });
    this.el.dataset.state = s.state;
    this._stopLatency = s.attach(this.video);
    s.on('state', ({ state }) => {
      if (s !== this.session) return;
      this.el.dataset.state = state;
      if (state === 'interrupted') this._setNote('Video interrupted: waiting for the network…');
      else if (state === 'connected') this._setNote(null);
      updateWatchButton(this.robotId);
    });
    s.on('streamtypes', ({ streamTypes }) => {
      if (s !== this.session) return;
      this.streamType = streamTypes[0];
      this.select.value = this.streamType;
      this._showStream(this.streamType);
    });
    s.on('signaling', () => {
      if (s !== this.session) return;
      this.badge.hidden = false;
      this.badge.disabled = cloud.state !== 'open';
      this.select.disabled = true;
      this._setNote('Lost the cloud: the video continues peer to peer. Stream switching returns when you reconnect.', 'warn', 8000);
    });
    s.on('error', (err) => {
      if (s !== this.session || s.state === 'closed') return;
      this._setNote(err.message, 'error', 8000);
    });
    s.on('closed', ({ reason, message }) => {
      if (s !== this.session) return;
      this.el.dataset.state = 'closed';
      this.badge.hidden = true;
      updateWatchButton(this.robotId);
      if (this.userClosed) return;
      this._setMessage(message, reason === 'closed-by-robot' ? 'info' : 'error', true);
    });
    updateWatchButton(this.robotId);
  }

  /** Switches the running session to another stream type. */
  async switchTo(type) {
    if (!this.session || this.session.state === 'closed') {
      this.streamType = type;
      return;
    }
    const before = this.streamType;
    this.select.disabled = true;
    try {
      await this.session.switchStream(type);
      this._setNote(null);
    } catch (err) {
      this.select.value = before;
      this._setNote(`Could not switch to ${label(type)}: ${err.message}`, 'error', 8000);
    } finally {
      this.select.disabled = this.session?.signaling !== 'attached';
    }
  }

  _showStream(type) {
    this.el.dataset.stream = type;
    this.legend.hidden = type !== 'depth';
  }

  /** The legend of the robot's depth colouring {colormap, near, far} (default: jet, 0.3 to 6 m). */
  _buildLegend(cm = { colormap: 'jet', near: 0.3, far: 6 }) {
    $('.legend-bar', this.legend).style.background = cssGradientOf(cm.colormap, 'to right');
    const ticks = [];
    for (let i = 0; i <= 5; i++) ticks.push(cm.near + ((cm.far - cm.near) * i) / 5);
    $('.legend-ticks', this.legend).replaceChildren(...ticks.map((m, i) => {
      const s = document.createElement('span');
      s.style.left = `${(i * 20).toFixed(2)}%`;
      s.textContent = String(Number(m.toFixed(1)));
      return s;
    }));
    $('.cmap-ramp', this.legend).value = cm.colormap;
    $('.cmap-near', this.legend).value = String(cm.near);
    $('.cmap-far', this.legend).value = String(cm.far);
  }

  async _setColormap() {
    if (!this.session) return;
    const v = (sel) => $(sel, this.legend).value;
    try {
      await this.session.setDepthColormap({ colormap: v('.cmap-ramp'), near: Number(v('.cmap-near')), far: Number(v('.cmap-far')) });
    } catch (e) {
      this._setNote(`Colormap not changed: ${e.message}`, 'error', 8000);
      if (this.session.depthInfo.colormap) this._buildLegend(this.session.depthInfo.colormap);
    }
  }

  /** Shows or hides the 3D point cloud over the video. */
  toggle3d(on = !this.view3d.shown) {
    $('.view3d', this.el).setAttribute('aria-pressed', String(on));
    this.el.dataset.view = on ? '3d' : 'video';
    this.view3d.show(on);
    this._askDepth();
  }

  /** The pointer enters or leaves the video: a finer readout while it is
   * there (and POINTING_LINGER_MS after). */
  _point(on) {
    clearTimeout(this._pointingTimer);
    if (on) {
      if (!this.pointing) { this.pointing = true; this._askDepth(); }
      return;
    }
    this._pointingTimer = setTimeout(() => { this.pointing = false; this._askDepth(); }, POINTING_LINGER_MS);
  }

  /** What this tile needs of the depth channel now. */
  _depthWanted() {
    return this.view3d.shown ? this.view3d.request() : this.pointing ? DEPTH_POINTING : DEPTH_IDLE;
  }

  _askDepth() {
    if (this.session?.depthInfo.config) this.session.setDepth(this._depthWanted()).catch(() => {});
  }

  _setMessage(text, kind = 'error', retry = true) {
    this.message.hidden = !text;
    if (!text) return;
    this.message.dataset.kind = kind;
    $('.message-text', this.message).textContent = text;
    const r = cloud?.robots.get(this.robotId);
    const canRetry = retry && hasWebRTC && r?.online && cloud?.state === 'open';
    $('.retry', this.message).hidden = !canRetry;
  }

  /** Refreshes the Reconnect buttons when the robot or the cloud changes. */
  refresh() {
    this._title();
    if (!this.message.hidden) this._setMessage($('.message-text', this.message).textContent, this.message.dataset.kind, true);
    this.badge.disabled = cloud?.state !== 'open';
    this.options.refresh();
  }

  _setNote(text, kind = 'warn', ttl = 0) {
    clearTimeout(this._noteTimer);
    this.note.hidden = !text;
    if (!text) return;
    this.note.textContent = text;
    this.note.dataset.kind = kind;
    if (ttl) this._noteTimer = setTimeout(() => { this.note.hidden = true; }, ttl);
  }

  _onKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.target instanceof HTMLSelectElement) return;
    // Inside the options panel keys belong to its controls; Escape closes it.
    if (e.target instanceof Element && e.target.closest('.options')) {
      if (e.key === 'Escape') {
        this.options.toggle(false);
        $('.options-toggle', this.el).focus();
        e.preventDefault();
      }
      return;
    }
    if (e.target instanceof HTMLInputElement) return;
    const k = e.key.toLowerCase();
    if (k === 'f') this.toggleFullscreen();
    else if (k === 'o') this.options.toggle();
    else if (k === 's') this.snapshot();
    else if (k === 'i') this.toggleStats();
    else if (k === 'x') this.remove();
    else if (k === 'd') this.toggle3d();
    else if (k >= '1' && k <= '9') {
      const opt = this.select.options[Number(k) - 1];
      if (!opt || this.select.disabled) return;
      this.select.value = opt.value;
      this.switchTo(opt.value);
    } else return;
    e.preventDefault();
  }

  toggleFullscreen() {
    if (document.fullscreenElement === this.el) document.exitFullscreen?.();
    else if (this.el.requestFullscreen) this.el.requestFullscreen().catch((e) => this._setNote(`Fullscreen refused: ${e.message}`, 'error', 4000));
    else this._setNote('This browser has no fullscreen support.', 'error', 4000);
  }

  toggleStats() {
    const b = $('.stats-toggle', this.el);
    const on = b.getAttribute('aria-pressed') !== 'true';
    b.setAttribute('aria-pressed', String(on));
    this.el.dataset.stats = on ? 'on' : 'off';
  }

  /** Saves the frame on show as a PNG at the video's own resolution. */
  snapshot() {
    const v = this.video;
    if (!v.videoWidth) {
      this._setNote('No picture to save yet.', 'error', 3000);
      return;
    }
    const c = document.createElement('canvas');
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    c.getContext('2d').drawImage(v, 0, 0);
    c.toBlob((blob) => {
      if (!blob) return;
      const a = document.createElement('a');
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      a.href = URL.createObjectURL(blob);
      a.download = `porthole-${this.robotId}-${this.streamType}-${stamp}.png`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    }, 'image/png');
  }

  async _updateStats() {
    const s = this.session;
    if (!s || s.state === 'closed') {
      if (this.statsEl.childElementCount) this.statsEl.replaceChildren();
      return;
    }
    const st = await s.stats();
    if (!st || s !== this.session) return;
    const n = (v, d = 0) => (v === null || v === undefined ? '–' : Number(v).toFixed(d));
    const ms = (v, d = 0) => (v === null || v === undefined ? '–' : `${n(v, v < 10 && d === 0 ? 1 : d)} ms`);
    const kbps = (v) => (v === null || v === undefined ? '–' : v >= 1000 ? `${(v / 1000).toFixed(2)} Mb/s` : `${n(v)} kb/s`);
    const rows = [
      ['fps', n(st.fps)],
      ['bitrate', kbps(st.bitrateKbps)],
      ['size', st.width ? `${st.width}×${st.height}` : '–'],
      ['codec', st.codec || '–'],
      ['RTT', ms(st.rttMs)],
      ['path', pathText(st)],
      ['lost', n(st.packetsLost)],
      ['decode', ms(st.decodeTimeMs, 1)],
      ['buffer', ms(st.jitterBufferMs)],
    ];
    if (st.streamTypes[0] === 'color') rows.push(['latency', st.latencyMs === null ? '–' : ms(st.latencyMs)]);
    const d = s.depth;
    if (d) {
      rows.push(['depth', `${s.depthInfo.config?.rate ?? '–'}/s ÷${d.decimation}`]);
      rows.push(['depth age', ms(d.receivedAt - d.captureTime)]);
    }
    if (st.robot) {
      rows.push(['robot fps', n(st.robot.fps)]);
      rows.push(['robot rate', kbps(st.robot.bitrateKbps)]);
      rows.push(['estimate', kbps(st.robot.estimateKbps)]);
      rows.push(['layer', st.robot.layer === null ? '–' : String(st.robot.layer)]);
    }
    this.statsEl.replaceChildren(...rows.flatMap(([k, v]) => [
      Object.assign(document.createElement('dt'), { textContent: k }),
      Object.assign(document.createElement('dd'), { textContent: v, className: `stat-${k.replace(/\W+/g, '-')}` }),
    ]));
  }

  _dropSession() {
    const s = this.session;
    this.session = null;
    this._stopLatency();
    this._stopLatency = () => {};
    if (s) s.close();
  }

  /** Disconnects and removes the tile. */
  remove() {
    this.userClosed = true;
    this._dropSession();
    clearInterval(this._statsTimer);
    clearTimeout(this._noteTimer);
    this.options.destroy();
    if (document.fullscreenElement === this.el) document.exitFullscreen?.();
    const next = this.el.nextElementSibling || this.el.previousElementSibling;
    this.el.remove();
    tiles.delete(this.robotId);
    updateWatchButton(this.robotId);
    if (next instanceof HTMLElement && next.classList.contains('tile')) next.focus();
  }
}

// --- sign-in: the token from #token=, this tab's sessionStorage, the panel ----

/** What each refusal code of the cloud (src/cloud/token.h) means for the person at the page. */
const AUTH_REASONS = {
  'token-missing': 'This cloud requires sign-in: paste an access token to see its robots.',
  'token-expired': 'Your access token has expired: paste a new one.',
  'bad-signature': 'The cloud did not accept this token: it was not signed with this cloud\'s key.',
  'malformed-token': 'That is not an access token: a token is three base64url parts joined by dots (eyJ…).',
  'token-too-large': 'That token is too large for this cloud.',
  'bad-algorithm': 'The token is signed with an algorithm this cloud does not accept.',
  'unknown-key': 'The token names a signing key this cloud does not know (was the key rotated?).',
  'token-not-yet-valid': 'This token is not valid yet: check this computer\'s clock, or wait until it starts.',
  'wrong-issuer': 'The token comes from an issuer this cloud does not trust.',
  'wrong-audience': 'The token was issued for another service.',
  'missing-claim': 'The token lacks a claim a viewer needs (sub, role, robots or scope).',
  'invalid-claim': 'The token has a claim this cloud cannot read (role, robots or scope).',
  'wrong-role': 'This is a robot\'s token: a viewer needs a viewer token.',
  'robot-not-allowed': 'This token does not allow watching the robots here.',
  'insufficient-scope': 'This token\'s scope does not allow that.',
  'invalid-token': 'That token cannot be used: paste the token itself, a long line beginning with eyJ.',
};

function reasonText(reason) {
  return AUTH_REASONS[reason] || `The cloud refused the access token (${reason || 'unauthorized'}): paste another one.`;
}

/** This tab's token for one cloud: a token is never handed to another cloud (?cloud=). */
const tokenStore = {
  key: () => `porthole.token ${cloudUrl}`,
  get() { try { return sessionStorage.getItem(this.key()); } catch { return null; } },
  set(t) { try { sessionStorage.setItem(this.key(), t); } catch { /* storage off: this page load only */ } },
  clear() { try { sessionStorage.removeItem(this.key()); } catch { /* storage off */ } },
};

/** A pasted token without what often comes with it: spaces, "Bearer ", or the whole #token= link. */
function cleanToken(text) {
  let t = String(text ?? '').trim();
  const at = t.indexOf('#');
  if (at >= 0 && t.includes('token=', at)) t = new URLSearchParams(t.slice(at + 1)).get('token') || '';
  t = t.replace(/^Bearer\s+/i, '').replace(/\s+/g, '');
  return t || null;
}

/**
 * Takes #token=... out of the fragment and out of the address bar
 * (history.replaceState, keeping any other fragment parameters), so that the
 * token is neither in the link someone copies next nor in the history. A
 * fragment never reaches a server. Returns the token, or null.
 */
function takeFragmentToken() {
  if (!location.hash.includes('token=')) return null;
  const frag = new URLSearchParams(location.hash.slice(1));
  const token = frag.get('token');
  frag.delete('token');
  const rest = frag.toString();
  history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
  return cleanToken(token);
}

function showSignIn(text) {
  ui.signinWhy.textContent = text;
  ui.signin.hidden = false;
  signInDone();
  if (!ui.signin.contains(document.activeElement)) ui.signinToken.focus({ preventScroll: true });
}

function hideSignIn() {
  ui.signin.hidden = true;
  ui.signinToken.value = '';
  signInDone();
}

/** Sign in is usable again (the attempt ended, or the cloud went away meanwhile). */
function signInDone() {
  ui.signinSubmit.disabled = false;
  ui.signinSubmit.textContent = 'Sign in';
}

function updateSignOut() {
  ui.signout.hidden = !tokenStore.get();
}

function initSignIn() {
  ui.signinForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const token = cleanToken(ui.signinToken.value);
    ui.signinToken.value = ''; // never shown again
    if (!token) {
      ui.signinWhy.textContent = 'Paste an access token first.';
      ui.signinToken.focus();
      return;
    }
    tokenStore.set(token);
    updateSignOut();
    ui.signinSubmit.disabled = true;
    ui.signinSubmit.textContent = 'Signing in…';
    cloud.setToken(token);
  });
  // Signing out ends every session: forget the token and start afresh.
  ui.signout.addEventListener('click', () => {
    tokenStore.clear();
    cloud?.close();
    location.reload();
  });
}

// --- cloud status ------------------------------------------------------------

let countdown = null;
function renderCloudState({ state }) {
  clearInterval(countdown);
  ui.status.dataset.state = state;
  document.body.dataset.auth = state === 'unauthorized' ? 'required' : '';
  ui.empty.textContent = state === 'unauthorized' ? 'Sign in to see the robots.' : 'Waiting for robots…';
  if (state === 'open') {
    ui.status.textContent = 'Cloud connected';
    setBanner('cloud', null);
    hideSignIn();
  } else if (state === 'unauthorized') {
    ui.status.textContent = 'Sign-in required';
    setBanner('cloud', null);
  } else if (state === 'connecting') {
    ui.status.textContent = 'Connecting…';
  } else if (state === 'reconnecting') {
    const tick = () => {
      const left = Math.max(0, Math.ceil(((cloud.nextAttemptAt || Date.now()) - Date.now()) / 1000));
      ui.status.textContent = left > 0 ? `Cloud unreachable · retry in ${left} s` : 'Reconnecting…';
      ui.status.dataset.state = left > 0 ? 'unreachable' : 'reconnecting';
    };
    tick();
    countdown = setInterval(tick, 500);
  } else {
    ui.status.textContent = 'Disconnected';
  }
  renderRobots();
  for (const t of tiles.values()) t.refresh();
}

/** "srflx/udp", or "relay/udp via turn:host:3478 (tls)": which way the video came. */
function pathText(st) {
  if (!st.candidateType) return '–';
  let t = `${st.candidateType}${st.protocol ? `/${st.protocol}` : ''}`;
  if (st.turnServer) t += ` via ${st.turnServer}`;
  if (st.relayProtocol) t += ` (${st.relayProtocol})`;
  return t;
}

function start() {
  if (!hasWebRTC) {
    setBanner('webrtc', 'This browser does not support WebRTC (no RTCPeerConnection), so it cannot show robot video. '
      + 'The robot list still works; use a current Chrome, Edge, Firefox or Safari to watch.');
  }
  const url = defaultCloudUrl(location);
  const fragmentToken = takeFragmentToken(); // first: out of the address bar whatever happens next
  if (!url) {
    ui.status.dataset.state = 'closed';
    ui.status.textContent = 'No cloud';
    setBanner('cloud', 'No cloud to connect to: open this page with ?cloud=wss://your-cloud/ws '
      + '(a ws:// or wss:// URL; the default is this page\'s own origin).');
    return;
  }
  ui.url.textContent = url;
  cloudUrl = url;
  if (fragmentToken) tokenStore.set(fragmentToken);
  updateSignOut();
  initSignIn();
  // ?relay=1 forces every session through TURN: a quick check that the
  // deployment's relay works from this network.
  const relay = new URLSearchParams(location.search).get('relay') === '1';
  const options = { token: fragmentToken || tokenStore.get() };
  if (relay) options.iceTransportPolicy = 'relay';
  // ?offer=0: the robot makes the offer (the flow of older viewers); ?offer=1:
  // the viewer does (the default).
  const offer = new URLSearchParams(location.search).get('offer');
  if (offer === '0' || offer === '1') options.viewerOffers = offer === '1';
  cloud = connect(url, options);
  window.portholeViewer = { cloud, tiles };
  cloud.on('state', renderCloudState);
  cloud.on('token-refreshed', () => hideSignIn());
  cloud.on('robots', () => {
    renderRobots();
    for (const t of tiles.values()) t.refresh();
  });
  cloud.on('robot-available', (r) => {
    if (!watchList.includes(r.robotId)) return;
    const t = tiles.get(r.robotId);
    if (!t) setTimeout(() => watch(r.robotId, watchStream), 0);
    else if (!t.active && !t.userClosed) setTimeout(() => t.start(t.streamType), 0);
  });
  cloud.on('robot-unavailable', (r) => {
    const t = tiles.get(r.robotId);
    if (!t) return;
    if (t.session?.signaling === 'detached') t._setNote(`${r.robotId} went offline.`, 'error', 8000);
    // A robot that stops cleanly ends its sessions first: say why it ended.
    else if (t.session?.state === 'closed' && !t.userClosed) t._setMessage(`${r.robotId} went offline; the session ended.`, 'error', true);
  });
  cloud.on('error', (err) => {
    if (err.code === 'cloud-unreachable') {
      signInDone();
      const playing = [...tiles.values()].some((t) => t.active);
      setBanner('cloud', `${err.message}.${playing ? ' Videos already playing continue.' : ''}`, 'error',
        { label: 'Retry now', run: () => cloud.reconnectNow() });
    } else if (err.code === 'invalid-argument') {
      setBanner('cloud', `Cannot use the cloud URL: ${err.message}`);
    } else if (err.code === 'unauthorized') {
      showSignIn(reasonText(err.detail?.reason));
    } else if (err.code === 'token-expired') {
      const s = err.detail?.graceSeconds;
      showSignIn(`Your access token has expired: the cloud disconnects this page${s ? ` in ${s} s` : ''} unless you `
        + 'paste a new one. Videos already playing continue.');
    } else {
      console.warn('porthole:', err.code, err.message, err.detail ?? '');
    }
  });
  addEventListener('pagehide', () => cloud.close());
}

start();
