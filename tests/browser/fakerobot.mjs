// fakerobot.mjs - a signaling-only robot in Node `ws`, for the viewer's
// UI scenarios (list, offline, errors, bad input) that need no video.
//
// It registers like porthole-robot (the same deviceInfo shape) and answers
// create-session as `mode` says:
//   'error'    session-error {error: 'camera unavailable (simulated)'}
//   'bad-sdp'  a garbage ICE candidate, then a webrtc-offer whose SDP is garbage
//   'silent'   nothing

import WebSocket from 'ws';

export class FakeRobot {
  /**
   * @param {string} url ws://127.0.0.1:PORT/ws
   * @param {string} robotId
   * @param {{mode?: string, name?: string}} [opts]
   */
  constructor(url, robotId, opts = {}) {
    this.url = url;
    this.robotId = robotId;
    this.mode = opts.mode || 'error';
    this.deviceInfo = {
      name: opts.name || 'Intel RealSense D435 (fake)',
      serial: '000000000042',
      firmwareVersion: '5.16.0.1',
      streams: ['color', 'depth', 'infrared-1', 'infrared-2'],
      width: 640, height: 480, fps: 30, codec: 'vp8', depthScale: 0.001,
    };
    this.received = [];
    this.ws = null;
  }

  /** Connects and registers; resolves once the cloud said `registered`. */
  start(timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      const timer = setTimeout(() => reject(new Error(`fake robot ${this.robotId}: no 'registered' in ${timeoutMs} ms`)), timeoutMs);
      ws.on('error', (e) => { clearTimeout(timer); reject(e); });
      ws.on('open', () => this.send({ type: 'robot-register', robotId: this.robotId, deviceInfo: this.deviceInfo }));
      ws.on('message', (data) => {
        let m;
        try { m = JSON.parse(data.toString()); } catch { return; }
        this.received.push(m);
        if (m.type === 'registered') { clearTimeout(timer); resolve(this); }
        if (m.type === 'create-session') this.onCreateSession(m);
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
