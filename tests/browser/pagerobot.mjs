// pagerobot.mjs - a stand-in robot that runs inside a chromium page: it
// speaks the robot side of docs/PROTOCOL.md and streams canvas video that
// looks like porthole-robot's (colour with the capture-time marker, depth in
// the jet colormap, gray infrared) over a real RTCPeerConnection.
//
// For developing the viewer without porthole-robot (PORTHOLE_ROBOT=page in
// run.mjs). The CTest run uses the real robot.

/**
 * Starts a page robot in its own page of `browser` (see harness.launchBrowser)
 * and waits until the cloud registered it; `token` (a robot token) goes in
 * robot-register for a cloud with sign-in. Returns {page, stop()}.
 */
export async function startPageRobot(browser, port, robotId, { token = null } = {}) {
  const page = await browser.newPage(`http://127.0.0.1:${port}/favicon.svg`);
  await page.evaluate(robotMain, { url: `ws://127.0.0.1:${port}/ws`, robotId, token });
  await page.waitForFunction(() => window.pageRobot?.registered === true, null, { timeout: 5000 });
  return {
    page,
    async stop() { await page.close().catch(() => {}); },
    running: () => !page.isClosed(),
  };
}

/* Runs in the page. */
function robotMain({ url, robotId, token }) {
  const W = 640;
  const H = 480;
  const TYPES = ['color', 'depth', 'infrared-1', 'infrared-2'];
  const STOPS = [[0, 0, 0, 143], [0.125, 0, 0, 255], [0.375, 0, 255, 255], [0.625, 255, 255, 0], [0.875, 255, 0, 0], [1, 128, 0, 0]];
  const jet = (t) => {
    t = Math.min(1, Math.max(0, t));
    for (let i = 1; i < STOPS.length; i++) {
      if (t <= STOPS[i][0]) {
        const a = STOPS[i - 1];
        const b = STOPS[i];
        const f = (t - a[0]) / (b[0] - a[0]);
        return [0, 1, 2].map((k) => Math.round(a[k + 1] + (b[k + 1] - a[k + 1]) * f));
      }
    }
    return [128, 0, 0];
  };
  const canvases = {};
  const tracks = {};
  for (const t of TYPES) {
    // The page is an SVG document: ask for an HTML canvas explicitly.
    const c = document.createElementNS('http://www.w3.org/1999/xhtml', 'canvas');
    c.width = W;
    c.height = H;
    canvases[t] = c;
    tracks[t] = c.captureStream(30).getVideoTracks()[0];
  }
  let frame = 0;
  function draw() {
    frame++;
    const now = Date.now();
    // colour: a gradient room with a moving ball and the time marker
    let ctx = canvases.color.getContext('2d');
    const g = ctx.createLinearGradient(0, 0, W, H);
    g.addColorStop(0, '#2d5d7b');
    g.addColorStop(1, '#c47a3a');
    ctx.fillStyle = g;
    ctx.fillRect(0, 0, W, H);
    ctx.fillStyle = '#f2e14c';
    ctx.beginPath();
    ctx.arc(W / 2 + Math.sin(frame / 20) * 200, H / 2 + 60, 50, 0, 7);
    ctx.fill();
    const block = Math.max(4, Math.floor(W / 40));
    const ms = now % 4294967296;
    const bits = [1, 0];
    for (let i = 31; i >= 0; i--) bits.push(Math.floor(ms / 2 ** i) % 2);
    bits.forEach((b, i) => { ctx.fillStyle = b ? '#fff' : '#000'; ctx.fillRect(i * block, 0, block, block); });
    // depth: a slanted floor with a box, 8x8 cells, a no-data hole
    ctx = canvases.depth.getContext('2d');
    for (let y = 0; y < H; y += 8) {
      for (let x = 0; x < W; x += 8) {
        let d = 0.5 + 5 * (1 - y / H) + 0.3 * Math.sin(x / 60 + frame / 15);
        if (x > 250 && x < 390 && y > 200 && y < 330) d = 1.2;
        if (x < 48 && y > 400) d = 0;
        const [r, gg, b] = d > 0 ? jet((d - 0.3) / 5.7) : [0, 0, 0];
        ctx.fillStyle = `rgb(${r},${gg},${b})`;
        ctx.fillRect(x, y, 8, 8);
      }
    }
    // infrared: gray speckle (the projector pattern)
    for (const t of ['infrared-1', 'infrared-2']) {
      ctx = canvases[t].getContext('2d');
      for (let y = 0; y < H; y += 16) {
        for (let x = 0; x < W; x += 16) {
          const v = Math.round(110 + 80 * Math.sin(x / 37 + frame / 9) * Math.cos(y / 23));
          ctx.fillStyle = `rgb(${v},${v},${v})`;
          ctx.fillRect(x, y, 16, 16);
        }
      }
    }
  }
  setInterval(draw, 33);
  draw();

  const sessions = new Map();
  const state = { registered: false, ws: null, sessions };
  window.pageRobot = state;
  const send = (m) => { if (state.ws && state.ws.readyState === 1) state.ws.send(JSON.stringify(m)); };

  async function createSession(m) {
    const type = TYPES.includes(m.streamTypes[0]) ? m.streamTypes[0] : null;
    if (!type) {
      send({ type: 'session-error', sessionId: m.sessionId, error: `unknown stream type '${m.streamTypes[0]}'` });
      return;
    }
    const pc = new RTCPeerConnection();
    const s = { pc, type, sender: pc.addTransceiver(tracks[type], { direction: 'sendonly' }).sender };
    sessions.set(m.sessionId, s);
    const dc = pc.createDataChannel('telemetry');
    s.timer = setInterval(() => {
      if (dc.readyState !== 'open') return;
      dc.send(JSON.stringify({ type: 'telemetry', sessionId: m.sessionId, time: Date.now(),
        streams: { [s.type]: { frames: frame, fps: 30, bitrateKbps: 1000, viewers: sessions.size } },
        tracks: [{ streamType: s.type, framesSent: frame }], encoders: sessions.size, sessions: sessions.size, codec: 'vp8', depthScale: 0.001 }));
    }, 1000);
    pc.onicecandidate = (e) => send({ type: 'ice-candidate', sessionId: m.sessionId,
      candidate: e.candidate ? { candidate: e.candidate.candidate, sdpMid: e.candidate.sdpMid, sdpMLineIndex: e.candidate.sdpMLineIndex } : null });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    send({ type: 'webrtc-offer', sessionId: m.sessionId, offer: { type: 'offer', sdp: pc.localDescription.sdp } });
  }

  function endSession(id) {
    const s = sessions.get(id);
    if (!s) return;
    clearInterval(s.timer);
    s.pc.close();
    sessions.delete(id);
  }

  function open() {
    const ws = new WebSocket(url);
    state.ws = ws;
    ws.onopen = () => send({ type: 'robot-register', robotId, deviceInfo: {
      name: 'Intel RealSense D435 (page simulated)', serial: '100000000001', firmwareVersion: '5.16.0.1',
      streams: TYPES, width: W, height: H, fps: 30, codec: 'vp8', depthScale: 0.001 }, ...(token ? { token } : {}) });
    ws.onclose = () => { state.registered = false; setTimeout(open, 500); };
    ws.onmessage = async (ev) => {
      const m = JSON.parse(ev.data);
      const s = sessions.get(m.sessionId);
      if (m.type === 'registered') state.registered = true;
      else if (m.type === 'create-session') createSession(m);
      else if (m.type === 'webrtc-answer' && s) await s.pc.setRemoteDescription(m.answer);
      else if (m.type === 'ice-candidate' && s) {
        if (m.candidate) await s.pc.addIceCandidate(m.candidate).catch(() => {});
      } else if (m.type === 'switch-stream-type' && s) {
        const type = m.streamTypes[0];
        if (!TYPES.includes(type)) {
          send({ type: 'stream-type-switch-error', sessionId: m.sessionId, error: `unknown stream type '${type}'` });
          return;
        }
        await s.sender.replaceTrack(tracks[type]);
        s.type = type;
        send({ type: 'stream-type-switched', sessionId: m.sessionId, streamTypes: [type] });
      } else if (m.type === 'session-closed' && m.reason !== 'server-shutdown') {
        endSession(m.sessionId);
      }
    };
  }
  open();
}
