// fakerobot.mjs - a signaling-only robot in Node `ws`, for the viewer's
// UI scenarios (list, offline, errors, bad input) that need no video.
//
// It registers like porthole-robot (the same deviceInfo shape) and answers
// create-session as `mode` says:
//   'error'    session-error {error: 'camera unavailable (simulated)'}
//   'bad-sdp'  a garbage ICE candidate, then a webrtc-offer whose SDP is garbage
//   'silent'   nothing
//
// It also answers robot-request for the device, sensor and option resources
// of the robot's REST API (/tmp/spec contract, docs/API.md shapes) from an
// in-memory D435-like camera, and records every request in `requests`
// ({method, path, body, clientId, at}) for the tests to assert. With
// `hold = true` it records requests but does not answer them. With a
// `token` option it sends it in robot-register (a cloud with sign-in).

import WebSocket from 'ws';

/** The options of a D435-like camera: [sensor name, type, [OptionInfo without current_value]]. */
const SENSORS = [
  ['Stereo Module', 'depth', [
    ['exposure', 'Exposure', 'Depth exposure time', 8500, 1, 165000, 1, 'µs'],
    ['gain', 'Gain', 'Image gain of the depth imagers', 16, 16, 248, 1, ''],
    ['laser_power', 'Laser Power', 'Power of the IR projector', 150, 0, 360, 30, 'mW'],
    ['emitter_enabled', 'Emitter Enabled', 'IR projector: 0 off, 1 on', 1, 0, 1, 1, ''],
    ['depth_units', 'Depth Units', 'Metres represented by one depth unit', 0.001, 0.000001, 0.01, 0.000001, 'm'],
    ['asic_temperature', 'ASIC Temperature', 'Temperature of the vision processor', 38, -40, 125, 0, '°C', true],
  ], [['depth', [[640, 480], [1280, 720]], [15, 30], ['z16']], ['infrared', [[640, 480], [1280, 720]], [15, 30], ['y8']]]],
  ['RGB Camera', 'color', [
    ['color_exposure', 'Exposure', 'Colour exposure time in units of 100 µs', 156, 1, 10000, 1, '×100 µs'],
    ['color_gain', 'Gain', 'Colour image gain', 64, 0, 128, 1, ''],
    ['brightness', 'Brightness', 'Colour image brightness', 0, -64, 64, 1, ''],
    ['contrast', 'Contrast', 'Colour image contrast', 50, 0, 100, 1, ''],
  ], [['color', [[640, 480], [1280, 720]], [15, 30], ['rgb8', 'yuyv']]]],
];

/** The in-memory camera: SensorInfo objects with live OptionInfo. */
function makeSensors(serial) {
  return SENSORS.map(([name, type, options, profiles], i) => ({
    sensor_id: `${serial}-sensor-${i}`,
    name,
    type,
    supported_stream_profiles: profiles.map(([stream_type, resolutions, fps, formats]) => ({ stream_type, resolutions, fps, formats })),
    options: options.map(([option_id, oname, description, def, min, max, step, units, ro]) => ({
      option_id, name: oname, description, current_value: def, default_value: def,
      min_value: min, max_value: max, step, units, read_only: Boolean(ro),
    })),
  }));
}

export class FakeRobot {
  /**
   * @param {string} url ws://127.0.0.1:PORT/ws
   * @param {string} robotId
   * @param {{mode?: string, name?: string, serial?: string, token?: string}} [opts]
   */
  constructor(url, robotId, opts = {}) {
    this.url = url;
    this.robotId = robotId;
    this.mode = opts.mode || 'error';
    this.token = opts.token || null;
    this.serial = opts.serial || '000000000042';
    this.deviceInfo = {
      name: opts.name || 'Intel RealSense D435 (fake)',
      serial: this.serial,
      firmwareVersion: '5.16.0.1',
      streams: ['color', 'depth', 'infrared-1', 'infrared-2'],
      width: 640, height: 480, fps: 30, codec: 'vp8', depthScale: 0.001,
    };
    this.received = [];
    /** robot-requests received: {method, path, body, clientId, at} */
    this.requests = [];
    /** true: record requests without answering them (a robot that hangs) */
    this.hold = false;
    this.sensors = makeSensors(this.serial);
    this.ws = null;
  }

  /** The live OptionInfo of optionId (searched in every sensor). */
  option(optionId) {
    for (const s of this.sensors) {
      const o = s.options.find((x) => x.option_id === optionId);
      if (o) return o;
    }
    return undefined;
  }

  /** Connects and registers; resolves once the cloud said `registered`. */
  start(timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      const timer = setTimeout(() => reject(new Error(`fake robot ${this.robotId}: no 'registered' in ${timeoutMs} ms`)), timeoutMs);
      ws.on('error', (e) => { clearTimeout(timer); reject(e); });
      ws.on('open', () => this.send({ type: 'robot-register', robotId: this.robotId, deviceInfo: this.deviceInfo,
        ...(this.token ? { token: this.token } : {}) }));
      ws.on('message', (data) => {
        let m;
        try { m = JSON.parse(data.toString()); } catch { return; }
        this.received.push(m);
        if (m.type === 'registered') { clearTimeout(timer); resolve(this); }
        if (m.type === 'error' && m.requestType === 'robot-register') {
          clearTimeout(timer);
          reject(new Error(`fake robot ${this.robotId}: registration refused: ${m.code} ${m.reason || ''} ${m.error || m.message || ''}`));
        }
        if (m.type === 'create-session') this.onCreateSession(m);
        if (m.type === 'robot-request') this.onRobotRequest(m);
      });
    });
  }

  send(m) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(typeof m === 'string' ? m : JSON.stringify(m));
  }

  onCreateSession(m) {
    const sessionId = m.sessionId;
    if (this.mode === 'error') {
      this.send({ type: 'session-error', sessionId, error: 'camera unavailable (simulated)' });
    } else if (this.mode === 'bad-sdp') {
      // Valid for the cloud (it relays them), wrong for a viewer.
      this.send({ type: 'ice-candidate', sessionId, candidate: { candidate: 'candidate:garbage', sdpMid: 'nowhere' } });
      this.send({ type: 'webrtc-offer', sessionId, offer: { type: 'offer', sdp: 'this is not SDP' } });
    }
  }

  onRobotRequest(m) {
    this.requests.push({ method: m.method, path: m.path, body: m.body ?? null, clientId: m.clientId, at: Date.now() });
    if (this.hold) return;
    const [status, body] = this.api(m.method, m.path, m.body ?? null);
    this.send({ type: 'robot-response', requestId: m.requestId, status, body });
  }

  /** The REST API: returns [status, body]; every error body is {detail}. */
  api(method, fullPath, body) {
    const path = String(fullPath).split('?')[0];
    const parts = path.split('/').filter(Boolean).map((p) => { try { return decodeURIComponent(p); } catch { return p; } });
    const fail = (status, detail) => [status, { detail }];
    const only = (...methods) => (methods.includes(method) ? null
      : fail(405, `method ${method} is not allowed on ${path}; use ${methods.join(' or ')}`));
    if (parts[0] !== 'api' || parts[1] !== 'devices') return fail(404, `no resource at ${path}`);
    const device = {
      device_id: this.serial, name: this.deviceInfo.name, serial_number: this.serial,
      firmware_version: this.deviceInfo.firmwareVersion, physical_port: 'fake', usb_type: '3.2',
      product_id: '0B07', sensors: this.sensors.map((s) => s.name), is_streaming: false,
    };
    if (parts.length === 2) return only('GET') || [200, [device]];
    if (parts[2] !== this.serial) return fail(404, `no device '${parts[2]}'; it has: ${this.serial}`);
    if (parts.length === 3) return only('GET') || [200, device];
    if (parts[3] !== 'sensors') return fail(404, `no resource at ${path}`);
    if (parts.length === 4) return only('GET') || [200, this.sensors];
    const sensor = this.sensors.find((s) => s.sensor_id === parts[4]);
    if (!sensor) return fail(404, `no sensor '${parts[4]}'; it has: ${this.sensors.map((s) => s.sensor_id).join(', ')}`);
    if (parts.length === 5) return only('GET') || [200, sensor];
    if (parts[5] !== 'options') return fail(404, `no resource at ${path}`);
    if (parts.length === 6) return only('GET') || [200, sensor.options];
    const opt = sensor.options.find((o) => o.option_id === parts[6]);
    if (!opt || parts.length > 7) {
      return fail(404, `no option '${parts.slice(6).join('/')}' on sensor '${sensor.sensor_id}'; it has: ${
        sensor.options.map((o) => o.option_id).join(', ')}`);
    }
    if (method === 'GET') return [200, opt];
    const bad = only('GET', 'PUT');
    if (bad) return bad;
    const value = body && typeof body === 'object' && !Array.isArray(body) ? body.value : undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return fail(422, `the body must be {"value": <number>}; got ${JSON.stringify(body)}`);
    }
    if (opt.read_only) return fail(422, `${opt.option_id} is read-only`);
    const k = (value - opt.min_value) / opt.step;
    if (value < opt.min_value || value > opt.max_value || Math.abs(k - Math.round(k)) > 1e-6) {
      return fail(422, `${opt.option_id} must be between ${opt.min_value} and ${opt.max_value} (step ${opt.step}); got ${value}`);
    }
    opt.current_value = value;
    return [200, opt];
  }

  /** Closes the connection (the cloud then reports the robot unavailable). */
  stop() {
    return new Promise((resolve) => {
      if (!this.ws || this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
      setTimeout(() => { try { this.ws.terminate(); } catch { /* gone */ } resolve(); }, 2000);
    });
  }
}
