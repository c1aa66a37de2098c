// depth.js - metric depth from a Porthole robot: the "depth" data channel's
// frames decoded (docs/PROTOCOL.md, "Depth channel"), the calibration, and
// the geometry a viewer needs (depth at a pixel of any stream, 3D points,
// point clouds as Float32Arrays for WebGL).
//
// porthole.js uses it through one object per session (DepthLink); the
// decoding and geometry are plain functions that run in Node too
// (tests/unit/depth.test.mjs checks them against the robot's C code).
//
// Coordinates are the robot's (RealSense's): x right, y down, z forward,
// metres, in the depth camera's frame unless a function says otherwise.
// Pixel (u, v) of a stream looks along ((u - ppx) / fx, (v - ppy) / fy, 1).

import { depthColorWith } from './colormap.js';

export const DEPTH_CHANNEL = 'depth';
export const DEPTH_CONTROL_CHANNEL = 'depth-control';
export const FRAME_HEADER_BYTES = 88;
export const CHUNK_HEADER_BYTES = 16;
/** Decimation the robot accepts (larger values are clamped to it). */
export const MAX_DECIMATION = 16;

const IDENTITY = Object.freeze({ rotation: [1, 0, 0, 0, 1, 0, 0, 0, 1], translation: [0, 0, 0] });

/**
 * Decodes one LZ4 block (the LZ4 block format, no frame header) into dst,
 * which must be exactly the decoded size. Returns the bytes written, or -1
 * for a malformed block. Self-written: the format is a page long
 * (github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md) and no small,
 * pinned npm package decodes raw blocks.
 * @param {Uint8Array} src @param {Uint8Array} dst
 */
export function lz4DecodeBlock(src, dst) {
  let s = 0;
  let d = 0;
  const sn = src.length;
  const dn = dst.length;
  while (s < sn) {
    const token = src[s++];
    let lit = token >> 4;
    if (lit === 15) {
      let b;
      do {
        if (s >= sn) return -1;
        b = src[s++];
        lit += b;
      } while (b === 255);
    }
    if (s + lit > sn || d + lit > dn) return -1;
    dst.set(src.subarray(s, s + lit), d);
    s += lit;
    d += lit;
    if (s === sn) break; // the last sequence has literals only
    if (s + 2 > sn) return -1;
    const off = src[s] | (src[s + 1] << 8);
    s += 2;
    if (off === 0 || off > d) return -1;
    let len = token & 15;
    if (len === 15) {
      let b;
      do {
        if (s >= sn) return -1;
        b = src[s++];
        len += b;
      } while (b === 255);
    }
    len += 4;
    if (d + len > dn) return -1;
    let from = d - off;
    if (off >= len) {
      dst.copyWithin(d, from, from + len);
      d += len;
    } else {
      for (let k = 0; k < len; k++) dst[d++] = dst[from++]; // overlapping: byte by byte
    }
  }
  return d;
}

/** A block stored raw or as LZ4, decoded to exactly n bytes, or null. */
function decodeBlock(kind, src, n) {
  const out = new Uint8Array(n);
  if (kind === 'raw') {
    if (src.length !== n) return null;
    out.set(src);
    return out;
  }
  return lz4DecodeBlock(src, out) === n ? out : null;
}

/**
 * Reads a whole depth frame (the chunks put together). Returns
 * {number, wallUs, monoUs, width, height, decimation, unit, fx, fy, ppx, ppy,
 *  mm: Uint16Array, rgb: Uint8Array|null, bytes}, or throws an Error that
 * says what is wrong.
 * @param {Uint8Array} buf
 */
export function parseFrame(buf) {
  if (!(buf instanceof Uint8Array) || buf.length < FRAME_HEADER_BYTES) throw new Error('depth frame: too short');
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (String.fromCharCode(buf[0], buf[1], buf[2], buf[3]) !== 'PHDF') throw new Error('depth frame: no PHDF header');
  if (buf[4] !== 1) throw new Error(`depth frame: unsupported version ${buf[4]}`);
  const codec = buf[5];
  const colorCodec = buf[6];
  const f = {
    number: Number(v.getBigUint64(8, true)),
    wallUs: Number(v.getBigInt64(16, true)),
    monoUs: Number(v.getBigInt64(24, true)),
    width: v.getUint16(32, true),
    height: v.getUint16(34, true),
    decimation: v.getUint16(36, true),
    unit: v.getFloat64(40, true),
    fx: v.getFloat64(48, true),
    fy: v.getFloat64(56, true),
    ppx: v.getFloat64(64, true),
    ppy: v.getFloat64(72, true),
    mm: null,
    rgb: null,
    bytes: buf.length,
  };
  const db = v.getUint32(80, true);
  const cb = v.getUint32(84, true);
  if (codec !== 0 && codec !== 2) throw new Error(`depth frame: unknown depth codec ${codec}`);
  if (colorCodec > 2 || (colorCodec === 0) !== (cb === 0)) throw new Error('depth frame: bad colour block');
  if (!f.width || !f.height || f.decimation < 1 || f.decimation > MAX_DECIMATION) throw new Error('depth frame: bad size');
  if (!(f.unit > 0 && f.fx > 0 && f.fy > 0)) throw new Error('depth frame: bad unit or intrinsics');
  if (FRAME_HEADER_BYTES + db + cb !== buf.length) throw new Error('depth frame: block sizes do not add up');
  const n = f.width * f.height;
  const raw = decodeBlock(codec === 0 ? 'raw' : 'lz4', buf.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + db), 2 * n);
  if (!raw) throw new Error('depth frame: the depth block does not decode to width x height samples');
  const mm = new Uint16Array(n);
  for (let i = 0; i < n; i++) mm[i] = raw[2 * i] | (raw[2 * i + 1] << 8);
  if (codec === 2) {
    for (let j = 0; j < f.height; j++) {
      const o = j * f.width;
      for (let i = 1; i < f.width; i++) mm[o + i] = (mm[o + i] + mm[o + i - 1]) & 0xffff;
    }
  }
  f.mm = mm;
  if (colorCodec) {
    f.rgb = decodeBlock(colorCodec === 1 ? 'raw' : 'lz4', buf.subarray(FRAME_HEADER_BYTES + db), 3 * n);
    if (!f.rgb) throw new Error('depth frame: the colour block does not decode to width x height pixels');
  }
  return f;
}

/**
 * Puts chunks back together. push(message) returns a whole frame's bytes
 * (Uint8Array) when its last chunk arrives, else null. Frames are
 * unordered and may lose chunks: a frame older than the newest complete one
 * is dropped, and at most `keep` frames are assembled at once.
 */
export class Reassembler {
  constructor(keep = 3) {
    this.keep = keep;
    this.parts = new Map(); // frame number mod 2^32 -> {count, total, got, buf}
    this.lastDone = -1;
    this.dropped = 0;
  }

  push(message) {
    const m = message instanceof Uint8Array ? message : new Uint8Array(message);
    if (m.length < CHUNK_HEADER_BYTES || m[0] !== 0x50 || m[1] !== 0x48 || m[2] !== 0x44 || m[3] !== 0x43) return null;
    const v = new DataView(m.buffer, m.byteOffset, m.byteLength);
    const num = v.getUint32(4, true);
    const index = v.getUint16(8, true);
    const count = v.getUint16(10, true);
    const total = v.getUint32(12, true);
    const data = m.subarray(CHUNK_HEADER_BYTES);
    const per = 16384 - CHUNK_HEADER_BYTES;
    if (!count || index >= count || total > 64 * 1024 * 1024 || Math.ceil(total / per) !== Math.max(1, count)) return null;
    if (this.lastDone >= 0 && ((num - this.lastDone) | 0) <= 0) return null; // older than shown
    let p = this.parts.get(num);
    if (!p) {
      p = { count, total, got: new Set(), buf: new Uint8Array(total) };
      this.parts.set(num, p);
      while (this.parts.size > this.keep) {
        this.parts.delete(this.parts.keys().next().value);
        this.dropped++;
      }
    }
    if (p.count !== count || p.total !== total || p.got.has(index) || index * per + data.length > total) return null;
    p.buf.set(data, index * per);
    p.got.add(index);
    if (p.got.size < count) return null;
    this.parts.delete(num);
    for (const k of [...this.parts.keys()]) {
      if (((k - num) | 0) < 0) { this.parts.delete(k); this.dropped++; }
    }
    this.lastDone = num;
    return p.buf;
  }
}

function mulRT(e, p) {
  const r = e.rotation;
  const t = e.translation;
  return [r[0] * p[0] + r[1] * p[1] + r[2] * p[2] + t[0],
    r[3] * p[0] + r[4] * p[1] + r[5] * p[2] + t[1],
    r[6] * p[0] + r[7] * p[1] + r[8] * p[2] + t[2]];
}

/** p in stream coordinates back to depth coordinates (the inverse of e). */
function invRT(e, p) {
  const r = e.rotation;
  const q = [p[0] - e.translation[0], p[1] - e.translation[1], p[2] - e.translation[2]];
  return [r[0] * q[0] + r[3] * q[1] + r[6] * q[2], r[1] * q[0] + r[4] * q[1] + r[7] * q[2],
    r[2] * q[0] + r[5] * q[1] + r[8] * q[2]];
}

const isIdentity = (e) => e.rotation.every((x, i) => x === IDENTITY.rotation[i]) && e.translation.every((x) => x === 0);

/**
 * One decoded depth frame with its calibration: the geometry helpers.
 * Properties: number, captureTime (ms, CLOCK_REALTIME: the video marker's
 * clock), width, height (of the decimated image), decimation, metres
 * (Float32Array, row-major; 0 = no data), rgb (Uint8Array or null),
 * receivedAt (Date.now() when it was complete).
 */
export class DepthFrame {
  constructor(f, calibration = null) {
    Object.assign(this, {
      number: f.number, captureTime: f.wallUs / 1000, monoUs: f.monoUs, width: f.width, height: f.height,
      decimation: f.decimation, fx: f.fx, fy: f.fy, ppx: f.ppx, ppy: f.ppy, rgb: f.rgb, bytes: f.bytes,
    });
    const n = f.width * f.height;
    this.metres = new Float32Array(n);
    for (let i = 0; i < n; i++) this.metres[i] = f.mm[i] * f.unit;
    this.mm = f.mm;
    this.unit = f.unit;
    this.calibration = calibration;
    this.receivedAt = Date.now();
  }

  /** Depth in metres at a sample (i, j) of the decimated image, or 0. */
  sample(i, j) {
    if (i < 0 || j < 0 || i >= this.width || j >= this.height) return 0;
    return this.mm[j * this.width + i] * this.unit; // in double: metres is Float32
  }

  /** The depth pixel (u, v)'s point at depth z, depth camera frame. */
  pointOf(u, v, z) {
    return [(u - this.ppx) / this.fx * z, (v - this.ppy) / this.fy * z, z];
  }

  _stream(stream) {
    const cal = this.calibration;
    const s = stream || 'depth';
    if (s === 'depth' || !cal) return { e: IDENTITY, k: { fx: this.fx, fy: this.fy, ppx: this.ppx, ppy: this.ppy } };
    const k = cal.streams?.[s];
    const e = cal.extrinsics?.[s] || IDENTITY;
    if (!k) throw new Error(`no calibration for stream '${s}'`);
    return { e, k };
  }

  /** The nearest sample under depth pixel (u, v), or null. */
  _depthSample(u, v) {
    const i = Math.round(u / this.decimation);
    const j = Math.round(v / this.decimation);
    const z = this.sample(i, j);
    return z > 0 ? { i, j, z } : null;
  }

  /**
   * The depth sample seen at pixel (x, y) of `stream` ('depth' by default;
   * 'color', 'infrared-1', 'infrared-2' through the calibration's
   * extrinsics), as {point (depth frame), z (metres along that stream's
   * axis)}, or null where there is no depth. For a stream that does not
   * share the depth viewpoint, searches along the pixel's epipolar line for
   * the sample that projects nearest to it (as librealsense's
   * rs2_project_color_pixel_to_depth_pixel does), within 0.1..20 m.
   */
  lookup(x, y, stream = 'depth') {
    if (!Number.isFinite(x) || !Number.isFinite(y)) return null;
    const { e, k } = this._stream(stream);
    const same = isIdentity(e) && k.fx === this.fx && k.fy === this.fy && k.ppx === this.ppx && k.ppy === this.ppy;
    if (same) {
      const s = this._depthSample(x, y);
      if (!s) return null;
      const point = this.pointOf(s.i * this.decimation, s.j * this.decimation, s.z);
      return { point, z: point[2] };
    }
    const ray = [(x - k.ppx) / k.fx, (y - k.ppy) / k.fy, 1];
    const ends = [0.1, 20].map((z) => {
      const p = invRT(e, [ray[0] * z, ray[1] * z, z]);
      return [p[0] / p[2] * this.fx + this.ppx, p[1] / p[2] * this.fy + this.ppy];
    });
    const steps = Math.min(4096, Math.ceil(Math.hypot(ends[1][0] - ends[0][0], ends[1][1] - ends[0][1]) / this.decimation) + 1);
    let best = null;
    let bestD = Infinity;
    for (let s = 0; s <= steps; s++) {
      const f = s / steps;
      const u = ends[0][0] + (ends[1][0] - ends[0][0]) * f;
      const v = ends[0][1] + (ends[1][1] - ends[0][1]) * f;
      const smp = this._depthSample(u, v);
      if (!smp) continue;
      const p = this.pointOf(smp.i * this.decimation, smp.j * this.decimation, smp.z);
      const q = mulRT(e, p);
      if (!(q[2] > 0)) continue;
      const d = Math.hypot(q[0] / q[2] * k.fx + k.ppx - x, q[1] / q[2] * k.fy + k.ppy - y);
      if (d < bestD) { bestD = d; best = { point: p, z: q[2] }; }
    }
    // Farther than a decimated sample from the pixel: nothing under it.
    return best && bestD <= this.decimation * Math.max(1, k.fx / this.fx) ? best : null;
  }

  /** Depth in metres at pixel (x, y) of stream (along its axis), or null. */
  depthAt(x, y, stream = 'depth') {
    return this.lookup(x, y, stream)?.z ?? null;
  }

  /** The 3D point [x, y, z] (metres, depth camera frame) under pixel (x, y) of stream, or null. */
  deproject(x, y, stream = 'depth') {
    return this.lookup(x, y, stream)?.point ?? null;
  }

  /**
   * The frame as a point cloud: every sample with depth, or every n-th
   * sample of every n-th row for a coarser `decimation` (in pixels of the
   * full image; rounded to a multiple of the frame's). Returns
   * {positions: Float32Array (x, y, z per point, metres, depth camera
   * frame), colors: Float32Array (r, g, b in 0..1) or null, count}.
   * colored: true uses the aligned colour when the frame carries it, else
   * the depth colormap (colormap settings {colormap, near, far}).
   */
  pointCloud({ decimation = this.decimation, colored = true, colormap = null } = {}) {
    const step = Math.max(1, Math.round((Number(decimation) || this.decimation) / this.decimation));
    const w = this.width;
    const h = this.height;
    const max = Math.ceil(w / step) * Math.ceil(h / step);
    const positions = new Float32Array(3 * max);
    const colors = colored ? new Float32Array(3 * max) : null;
    const dec = this.decimation;
    const kx = dec / this.fx;
    const ky = dec / this.fy;
    const ox = this.ppx / this.fx;
    const oy = this.ppy / this.fy;
    const m = this.metres;
    const rgb = this.rgb;
    const cm = colormap || { colormap: 'jet', near: 0.3, far: 6 };
    let n = 0;
    for (let j = 0; j < h; j += step) {
      const fy = j * ky - oy;
      for (let i = 0; i < w; i += step) {
        const idx = j * w + i;
        const z = m[idx];
        if (!(z > 0)) continue;
        const o = 3 * n;
        positions[o] = (i * kx - ox) * z;
        positions[o + 1] = fy * z;
        positions[o + 2] = z;
        if (colors) {
          if (rgb) {
            colors[o] = rgb[3 * idx] / 255;
            colors[o + 1] = rgb[3 * idx + 1] / 255;
            colors[o + 2] = rgb[3 * idx + 2] / 255;
          } else {
            const c = depthColorWith(cm, z);
            colors[o] = c[0] / 255;
            colors[o + 1] = c[1] / 255;
            colors[o + 2] = c[2] / 255;
          }
        }
        n++;
      }
    }
    return { positions: positions.subarray(0, 3 * n), colors: colors ? colors.subarray(0, 3 * n) : null, count: n };
  }
}

/**
 * Checks openSession's `depth` option: true, or {rate?, decimation?,
 * color?} with numbers and a boolean. Returns the object to send (the robot
 * clamps the numbers and says so), null for none, or throws an Error.
 */
export function depthRequest(opt) {
  if (opt === undefined || opt === null || opt === false) return null;
  if (opt === true) return {};
  if (typeof opt !== 'object' || Array.isArray(opt)) throw new Error('depth must be true or {rate?, decimation?, color?}');
  const out = {};
  for (const k of ['rate', 'decimation']) {
    if (opt[k] === undefined) continue;
    if (typeof opt[k] !== 'number' || !Number.isFinite(opt[k])) throw new Error(`depth.${k} must be a finite number`);
    out[k] = opt[k];
  }
  if (opt.color !== undefined) {
    if (typeof opt.color !== 'boolean') throw new Error('depth.color must be true or false');
    out.color = opt.color;
  }
  return out;
}

/**
 * A session's depth: its two channels, the latest frame, the calibration,
 * the settings in force. Emits through the session (emit(type, detail)):
 * 'depth' DepthFrame, 'depthconfig' {rate, decimation, color, message?},
 * 'depthcolormap' {colormap, near, far}, 'deptherror' {code, message}.
 */
export class DepthLink {
  constructor(emit, requested) {
    this._emit = emit;
    this.requested = requested;
    this.frame = null;
    this.calibration = null;
    this.config = null;
    this.colormap = null;
    this.error = null;
    this.frames = 0;
    this.bytes = 0;
    this._re = new Reassembler();
    this._ctl = null;
    this._data = null;
    this._waiters = [];
    this._queued = [];
    this._closed = false;
  }

  /** Takes the channel if it is a depth one; returns whether it did. */
  takeChannel(ch) {
    if (ch.label === DEPTH_CHANNEL) {
      this._data = ch;
      ch.binaryType = 'arraybuffer';
      ch.onmessage = (e) => this._onData(e.data);
      return true;
    }
    if (ch.label === DEPTH_CONTROL_CHANNEL) {
      this._ctl = ch;
      ch.onmessage = (e) => this._onControl(e.data);
      if (ch.readyState === 'open') this._flush();
      else ch.onopen = () => this._flush();
      return true;
    }
    return false;
  }

  _onData(data) {
    if (!(data instanceof ArrayBuffer) || data.byteLength > 65536) return;
    this.bytes += data.byteLength;
    const whole = this._re.push(new Uint8Array(data));
    if (!whole) return;
    let f;
    try {
      f = parseFrame(whole);
    } catch (e) {
      this._fail('invalid-frame', e.message, false);
      return;
    }
    this.frame = new DepthFrame(f, this.calibration);
    this.frames++;
    this._emit('depth', this.frame);
  }

  _onControl(text) {
    if (typeof text !== 'string' || text.length > 1 << 20) return;
    let m;
    try { m = JSON.parse(text); } catch { return; }
    if (!m || typeof m !== 'object') return;
    if (m.type === 'depth-calibration') {
      this.calibration = m;
      if (this.frame) this.frame.calibration = m;
      this._emit('depthcalibration', m);
    } else if (m.type === 'depth-config') {
      this.config = { rate: m.rate, decimation: m.decimation, color: m.color, message: m.message ?? null };
      this.error = null;
      this._settle((w) => w.kind === 'config', (w) => w.resolve(this.config));
      this._emit('depthconfig', this.config);
    } else if (m.type === 'depth-colormap') {
      this.colormap = { colormap: m.colormap, near: m.near, far: m.far };
      this._settle((w) => w.kind === 'colormap', (w) => w.resolve(this.colormap));
      this._emit('depthcolormap', this.colormap);
    } else if (m.type === 'depth-error') {
      this._fail(String(m.code || 'depth-error'), String(m.message || 'depth error'), true);
    }
  }

  _settle(match, fn) {
    const keep = [];
    for (const w of this._waiters) (match(w) ? fn : (x) => keep.push(x))(w);
    this._waiters = keep;
  }

  _fail(code, message, sticky) {
    const err = { code, message };
    if (sticky) this.error = err;
    this._settle(() => true, (w) => { const e = new Error(message); e.code = code; w.reject(e); });
    this._emit('deptherror', err);
  }

  /** Sends the requests made before the control channel opened. */
  _flush() {
    const q = this._queued;
    this._queued = [];
    for (const { msg } of q) this._ctl.send(JSON.stringify(msg));
  }

  /**
   * Sends msg and waits for the robot's answer of `kind`. Before the
   * channel is open the request waits for it (when depth was asked for);
   * a session without depth, or whose robot has none, refuses at once.
   */
  _ask(kind, msg) {
    return new Promise((resolve, reject) => {
      const ch = this._ctl;
      const open = ch && ch.readyState === 'open';
      if (!open && (this.error || !this.requested || this._closed || (ch && ch.readyState !== 'connecting'))) {
        const e = new Error(this.error ? this.error.message
          : 'the session has no depth channel (open it with the depth option)');
        e.code = this.error ? this.error.code : 'no-depth-channel';
        reject(e);
        return;
      }
      this._waiters.push({ kind, resolve, reject });
      if (open) ch.send(JSON.stringify(msg));
      else this._queued.push({ msg });
    });
  }

  /** Changes rate / decimation / color; resolves with the settings in force. */
  setDepth(opts) {
    let req;
    try {
      req = depthRequest(opts);
    } catch (e) {
      e.code = 'invalid-argument';
      return Promise.reject(e);
    }
    return this._ask('config', { type: 'depth-config', ...(req || {}) });
  }

  /** Changes the depth video's colormap (the robot's, for every viewer). */
  setColormap({ colormap, near, far } = {}) {
    const msg = { type: 'depth-colormap' };
    if (colormap !== undefined) msg.colormap = colormap;
    if (near !== undefined) msg.near = near;
    if (far !== undefined) msg.far = far;
    return this._ask('colormap', msg);
  }

  close() {
    this._closed = true;
    this._queued = [];
    this._settle(() => true, (w) => { const e = new Error('the session closed'); e.code = 'closed'; w.reject(e); });
    for (const ch of [this._data, this._ctl]) if (ch) ch.onmessage = null;
  }
}
