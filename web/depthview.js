// depthview.js - the viewer's metric depth: the readout of the pixel under
// the pointer (distance and 3D point, any stream), measuring between two
// clicked points, and the 3D tab (a live point cloud to orbit, zoom and
// pan, three.js from the cloud's /vendor/three/, loaded on first use).
//
// Geometry comes from the session (porthole.js -> depth.js); this file owns
// only the DOM and the WebGL scene.

const fmt = (v, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : '–');
const pointText = (p) => `(${fmt(p[0], 2)}, ${fmt(p[1], 2)}, ${fmt(p[2], 2)}) m`;
const distance = (a, b) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

/**
 * Pixel coordinates in the video's own resolution under a pointer event,
 * allowing for object-fit: contain letterboxing; null outside the picture.
 */
export function videoPixel(video, ev) {
  const w = video.videoWidth;
  const h = video.videoHeight;
  if (!w || !h) return null;
  const r = video.getBoundingClientRect();
  const scale = Math.min(r.width / w, r.height / h);
  const x = (ev.clientX - r.left - (r.width - w * scale) / 2) / scale;
  const y = (ev.clientY - r.top - (r.height - h * scale) / 2) / scale;
  return x >= 0 && y >= 0 && x < w && y < h ? { x, y } : null;
}

/** Two clicked points and the distance between them. */
class Measure {
  constructor() { this.a = null; this.b = null; }
  add(p) {
    if (!this.a || this.b) { this.a = p; this.b = null; } else this.b = p;
  }
  clear() { this.a = this.b = null; }
  text() {
    if (!this.a) return '';
    if (!this.b) return `A ${pointText(this.a)} · click a second point`;
    return `A→B ${fmt(distance(this.a, this.b))} m`;
  }
}

/**
 * The pointer readout and measurement over a tile's video. probe is the
 * element that shows the text; getSession() the tile's current session.
 */
export class DepthProbe {
  constructor(video, probe, getSession) {
    this.video = video;
    this.probe = probe;
    this.getSession = getSession;
    this.measure = new Measure();
    this.last = null; // {x, y, z, point, stream}
    this.at = null; // the video pixel under the pointer, {x, y}
    video.addEventListener('pointermove', (e) => this._move(e));
    video.addEventListener('pointerleave', () => { this.at = null; this.last = null; this._show(); });
    video.addEventListener('click', (e) => {
      this._move(e);
      if (this.last?.point) this.measure.add(this.last.point);
      else this.measure.clear();
      this._show();
    });
  }

  /** The readout of pixel (x, y) of the session's stream, or null. */
  read(x, y) {
    const s = this.getSession();
    if (!s || !s.depth) return null;
    const stream = s.streamTypes[0];
    const point = s.deproject(x, y, stream);
    const z = s.depthAt(x, y, stream);
    return { x, y, z, point, stream };
  }

  _move(e) {
    const px = videoPixel(this.video, e);
    this.at = px ? { x: Math.round(px.x), y: Math.round(px.y) } : null;
    this.last = this.at ? this.read(this.at.x, this.at.y) : null;
    this._show();
  }

  /** A new depth frame: the readout under a pointer that stays follows it. */
  refresh() {
    if (!this.at) return;
    this.last = this.read(this.at.x, this.at.y);
    this._show();
  }

  _show() {
    const s = this.getSession();
    const lines = [];
    if (this.last) {
      lines.push(this.last.z === null ? `(${this.last.x}, ${this.last.y}) no depth here`
        : `${fmt(this.last.z)} m at (${this.last.x}, ${this.last.y}) · ${pointText(this.last.point)}`);
    } else if (s?.depthInfo.error) {
      lines.push(`No depth: ${s.depthInfo.error.message}`);
    }
    const m = this.measure.text();
    if (m) lines.push(m);
    this.probe.hidden = lines.length === 0;
    this.probe.textContent = lines.join('\n');
  }
}

/** The 3D tab of one tile. */
export class DepthView {
  constructor(root, getSession) {
    this.root = root;
    this.getSession = getSession;
    this.canvasBox = root.querySelector('.cloud3d-canvas');
    this.status = root.querySelector('.cloud3d-status');
    this.readout = root.querySelector('.cloud3d-readout');
    this.measure = new Measure();
    this.shown = false;
    this.unavailable = null; // a reason the tile knows before asking (no depth stream)
    this.three = null;
    this.fps = 0;
    this.builtMs = 0;
    this._frames = 0;
    this._since = performance.now();
    this._pending = null;
    this._raf = 0;
    this.pause = root.querySelector('.cloud3d-pause');
    for (const input of root.querySelectorAll('.cloud3d-rate, .cloud3d-decimation')) {
      input.addEventListener('change', () => this._applySettings());
    }
    // Paused, the cloud stands still (to measure on it); orbiting still works.
    this.pause.addEventListener('change', () => { if (!this.pause.checked && this._pending) this.onFrame(this._pending); });
  }

  /** Shows or hides the tab; the first show loads three.js. */
  async show(on) {
    this.shown = on;
    this.root.hidden = !on;
    if (!on) return;
    this._explain();
    if (!this.three) await this._load();
    this._resize();
    this._draw();
  }

  /** A new depth frame arrived: rebuilt on the next animation frame. */
  onFrame(frame) {
    this._pending = frame;
    if (this.shown && this.three && !this._raf && !this.pause.checked) this._raf = requestAnimationFrame(() => this._update());
  }

  /** Says why there is no cloud, or clears the status. */
  _explain(text = null) {
    const s = this.getSession();
    const err = this.unavailable ? { message: this.unavailable } : s?.depthInfo.error;
    const why = text || (err ? `No 3D view: ${err.message}` : !s ? 'Not watching this robot.'
      : !s.depth ? 'Waiting for depth frames…' : '');
    this.status.textContent = why;
    this.status.hidden = !why;
  }

  async _load() {
    let THREE;
    let OrbitControls;
    try {
      THREE = await import('three');
      ({ OrbitControls } = await import('three/addons/controls/OrbitControls.js'));
    } catch (e) {
      this._explain(`No 3D view: three.js could not be loaded from this cloud (${e.message}). `
        + 'On the cloud\'s host, run npm ci in the Porthole checkout (or set --three-dir).');
      return;
    }
    const renderer = new THREE.WebGLRenderer({ antialias: false });
    renderer.setPixelRatio(Math.min(2, devicePixelRatio || 1));
    renderer.setClearColor(0x0b0e13);
    this.canvasBox.replaceChildren(renderer.domElement);
    const scene = new THREE.Scene();
    const camera = new THREE.PerspectiveCamera(60, 1, 0.05, 100);
    camera.position.set(0, 0.6, 0.8);
    const controls = new OrbitControls(camera, renderer.domElement);
    controls.target.set(0, -0.5, -3);
    controls.update();
    controls.addEventListener('change', () => this._draw());
    const geometry = new THREE.BufferGeometry();
    const max = 640 * 480;
    const pos = new THREE.BufferAttribute(new Float32Array(3 * max), 3);
    const col = new THREE.BufferAttribute(new Float32Array(3 * max), 3);
    pos.setUsage(THREE.DynamicDrawUsage);
    col.setUsage(THREE.DynamicDrawUsage);
    geometry.setAttribute('position', pos);
    geometry.setAttribute('color', col);
    geometry.setDrawRange(0, 0);
    const points = new THREE.Points(geometry, new THREE.PointsMaterial({ size: 2, sizeAttenuation: false, vertexColors: true }));
    // The robot's frame is x right, y down, z forward; three.js looks down -z with y up.
    points.scale.set(1, -1, -1);
    scene.add(points);
    scene.add(new THREE.AxesHelper(0.3));
    const line = new THREE.Line(new THREE.BufferGeometry(), new THREE.LineBasicMaterial({ color: 0xffffff }));
    line.scale.copy(points.scale);
    scene.add(line);
    const raycaster = new THREE.Raycaster();
    raycaster.params.Points.threshold = 0.03;
    this.three = { THREE, renderer, scene, camera, controls, geometry, pos, col, points, line, raycaster };
    renderer.domElement.addEventListener('click', (e) => this._pick(e));
    new ResizeObserver(() => { this._resize(); this._draw(); }).observe(this.canvasBox);
    if (this._pending) this._update();
  }

  _resize() {
    const t = this.three;
    if (!t) return;
    const w = Math.max(1, this.canvasBox.clientWidth);
    const h = Math.max(1, this.canvasBox.clientHeight);
    t.renderer.setSize(w, h, false);
    t.camera.aspect = w / h;
    t.camera.updateProjectionMatrix();
  }

  _draw() {
    if (this.three && this.shown) this.three.renderer.render(this.three.scene, this.three.camera);
  }

  _update() {
    this._raf = 0;
    const t = this.three;
    const frame = this._pending;
    if (!t || !frame || !this.shown || this.pause.checked) return;
    const s = this.getSession();
    const t0 = performance.now();
    const cloud = frame.pointCloud({ colored: true, colormap: s?.depthInfo.colormap });
    this.builtMs = performance.now() - t0;
    const n = Math.min(cloud.count, t.pos.count);
    t.pos.array.set(cloud.positions.subarray(0, 3 * n));
    t.col.array.set(cloud.colors.subarray(0, 3 * n));
    t.pos.needsUpdate = true;
    t.col.needsUpdate = true;
    t.geometry.setDrawRange(0, n);
    t.geometry.boundingSphere = null;
    this._frames++;
    const now = performance.now();
    if (now - this._since >= 1000) {
      this.fps = (this._frames * 1000) / (now - this._since);
      this._frames = 0;
      this._since = now;
    }
    this._explain();
    this._draw();
    this._readout();
  }

  _pick(e) {
    const t = this.three;
    if (!t) return;
    const r = t.renderer.domElement.getBoundingClientRect();
    const ndc = new t.THREE.Vector2(((e.clientX - r.left) / r.width) * 2 - 1, -((e.clientY - r.top) / r.height) * 2 + 1);
    t.raycaster.setFromCamera(ndc, t.camera);
    const hit = t.raycaster.intersectObject(t.points)[0];
    if (!hit) { this.measure.clear(); t.line.geometry.setFromPoints([]); } else {
      const i = hit.index;
      const a = t.pos.array;
      this.measure.add([a[3 * i], a[3 * i + 1], a[3 * i + 2]]);
      const pts = [this.measure.a, this.measure.b].filter(Boolean).map((p) => new t.THREE.Vector3(...p));
      t.line.geometry.setFromPoints(pts.length === 2 ? pts : []);
    }
    this._readout();
    this._draw();
  }

  _readout() {
    const s = this.getSession();
    const info = s?.depthInfo;
    const parts = [`${this.three?.geometry.drawRange.count ?? 0} points`, `${fmt(this.fps, 0)} fps`,
      `built in ${fmt(this.builtMs, 1)} ms`];
    if (info?.config) parts.push(`robot: ${info.config.rate}/s, decimation ${info.config.decimation}`);
    const m = this.measure.text();
    this.readout.textContent = parts.join(' · ') + (m ? `\n${m}` : '');
  }

  async _applySettings() {
    const s = this.getSession();
    if (!s) return;
    const note = this.root.querySelector('.cloud3d-note');
    try {
      const c = await s.setDepth(this.request());
      note.textContent = c.message ? `Robot: ${c.message}` : '';
      this.syncSettings(c);
    } catch (e) {
      note.textContent = `Not changed: ${e.message}`;
    }
  }

  /** What the 3D tab asks of the robot: its rate and decimation, with colour. */
  request() {
    const v = (sel) => Number(this.root.querySelector(sel).value);
    return { rate: v('.cloud3d-rate'), decimation: v('.cloud3d-decimation'), color: true };
  }

  /** Shows the settings in force. */
  syncSettings(config) {
    if (!config || !this.shown) return; // hidden, the tile runs the readout's lighter settings
    this.root.querySelector('.cloud3d-rate').value = String(config.rate);
    this.root.querySelector('.cloud3d-decimation').value = String(config.decimation);
    if (config.message) this.root.querySelector('.cloud3d-note').textContent = `Robot: ${config.message}`;
  }
}
