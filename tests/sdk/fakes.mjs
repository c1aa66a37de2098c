// fakes.mjs - what the Node unit tests of web/porthole.js share: a scripted
// WebSocket (the test plays the cloud), a fake RTCPeerConnection, and a
// mocked clock (node:test's mock.timers) with a way to let promises settle.

import { mock } from 'node:test';

const realImmediate = setImmediate;

/**
 * Mocks setTimeout, setInterval and Date for the calling test; returns
 * {advance(ms), settle()}. advance moves the clock by ms and runs what came
 * due, letting promise chains (the SDK's token step, for one) run between
 * timers. Call mock.timers.reset() (done by `t.after` below) when finished.
 */
export function useClock(t) {
  mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
  t.after(() => mock.timers.reset());
  const settle = async () => {
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => realImmediate(r));
      mock.timers.tick(0);
    }
  };
  return {
    settle,
    /** Moves the clock ms forward in steps of at most 50 ms, settling in between. */
    async advance(ms) {
      let left = ms;
      do {
        const step = Math.min(left, 50);
        mock.timers.tick(step);
        left -= step;
        await settle();
      } while (left > 0);
    },
  };
}

/**
 * A WebSocket class for one test: every instance is recorded in
 * `FakeWS.instances`; `FakeWS.plan` says what each next connection does
 * ('open' (the default), 'fail': closes with 1006 without opening, 'hang':
 * never opens). The test plays the cloud with ws.deliver(msg) and reads
 * what the SDK sent in ws.sent (parsed).
 */
export function fakeWebSocketClass() {
  class FakeWS {
    static instances = [];
    static plan = [];

    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      this.closedWith = null;
      FakeWS.instances.push(this);
      const how = FakeWS.plan.shift() ?? 'open';
      if (how === 'hang') return;
      setTimeout(() => {
        if (this.readyState !== 0) return;
        if (how === 'fail') {
          this.readyState = 3;
          this.onclose?.({ code: 1006, reason: '' });
        } else {
          this.readyState = 1;
          this.onopen?.();
        }
      }, 0);
    }

    static get last() { return FakeWS.instances.at(-1); }

    send(data) {
      if (this.readyState !== 1) throw new Error('not open');
      this.sent.push(JSON.parse(data));
    }

    close(code = 1000) {
      if (this.readyState === 3) return;
      this.readyState = 3;
      this.closedWith = code;
      setTimeout(() => this.onclose?.({ code, reason: '' }), 0);
    }

    /** The cloud closes the connection (code 1006: lost). */
    drop(code = 1006) {
      this.readyState = 3;
      this.onclose?.({ code, reason: '' });
    }

    /** The cloud sends msg (an object, or a raw string as is). */
    deliver(msg) {
      this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
    }

    /** The cloud answers client-register. */
    register(robots = [], clientId = 'c1') {
      this.deliver({ type: 'available-robots', clientId, robots });
    }

    /** Messages sent of one type. */
    ofType(type) { return this.sent.filter((m) => m.type === type); }
  }
  return FakeWS;
}

/**
 * An RTCPeerConnection that negotiates with itself: setRemoteDescription
 * and createAnswer succeed (a fixed answer SDP), getStats returns
 * `stats` (a Map-like of report entries). The test moves connectionState
 * with pc.setConnectionState(state). Instances are in FakePC.instances.
 */
export function fakePeerConnectionClass() {
  class FakePC {
    static instances = [];

    constructor(config) {
      this.config = config;
      this.remoteDescription = null;
      this.localDescription = null;
      this.connectionState = 'new';
      this.candidates = [];
      this.closed = false;
      this.stats = new Map();
      this.signalingState = 'stable';
      this.transceivers = [];
      this.channels = [];
      this.offers = [];
      FakePC.instances.push(this);
    }

    async setRemoteDescription(d) {
      if (!d || typeof d.sdp !== 'string' || !d.sdp.startsWith('v=0')) throw new Error('unparsable SDP');
      if (d.type === 'answer' && this.signalingState !== 'have-local-offer') throw new Error('no offer to answer');
      if (d.type === 'offer' && this.signalingState === 'have-local-offer') throw new Error('glare: roll back first');
      this.remoteDescription = d;
      this.signalingState = d.type === 'offer' ? 'have-remote-offer' : 'stable';
    }

    async createAnswer() { return { type: 'answer', sdp: 'v=0\r\nanswer\r\n' }; }

    /** The viewer's offers: v=0, then "offer N" (and "restart" for an ICE restart). */
    async createOffer(opts = {}) {
      this.offers.push(opts);
      return { type: 'offer', sdp: `v=0\r\noffer ${this.offers.length}${opts.iceRestart ? ' restart' : ''}\r\n` };
    }

    addTransceiver(kind, init) { this.transceivers.push({ kind, ...init }); return {}; }

    createDataChannel(label, init) {
      const ch = { label, ...init, closed: false, close() { this.closed = true; } };
      this.channels.push(ch);
      return ch;
    }

    async setLocalDescription(d) {
      if (d?.type === 'rollback') {
        this.localDescription = null;
        this.signalingState = 'stable';
        return;
      }
      this.localDescription = d;
      this.signalingState = d?.type === 'offer' ? 'have-local-offer' : 'stable';
    }

    async addIceCandidate(c) { this.candidates.push(c ?? null); }

    async getStats() { return this.stats; }

    getConfiguration() { return { ...this.config }; }

    setConfiguration(config) { this.config = config; }

    close() { this.closed = true; }

    setConnectionState(state) {
      this.connectionState = state;
      this.onconnectionstatechange?.();
    }
  }
  return FakePC;
}

/** Records every event of the given types on an emitter: returns [{type, detail}]. */
export function record(emitter, types) {
  const seen = [];
  for (const type of types) emitter.on(type, (detail) => seen.push({ type, detail }));
  return seen;
}
