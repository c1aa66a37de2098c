// usage.ts - uses every part of the SDK's public API as an app would, so
// that `tsc --noEmit` (tests/sdk/types.mjs) proves web/porthole.d.ts
// describes it; the @ts-expect-error lines prove misuse is refused. Never
// run, only compiled.

import {
  backoffDelay, closeMessage, Cloud, connect, defaultCloudUrl, pageCloudUrl, PortholeError, Session, STREAM_TYPES,
  tuneForLowLatency, webrtcSupported,
} from '../../web/porthole.js';
import type {
  CloseReason, CloudState, ConnectOptions, PortholeErrorCode, RobotInfo, RobotResponse, SessionStats, StreamType,
  TokenFunction,
} from '../../web/porthole.js';

declare function render(robots: RobotInfo[]): void;
declare const video: HTMLVideoElement;

// connect(): with a URL, without one (the page's cloud), options only, every option.
const tokenFn: TokenFunction = async ({ reason }) => (reason === 'expired' ? 'new' : null);
const options: ConnectOptions = {
  token: tokenFn, clientId: 'tab-1', reconnect: true, minBackoffMs: 500, maxBackoffMs: 30000,
  registerTimeoutMs: 10000, sessionTimeoutMs: 10000, offerTimeoutMs: 15000, connectTimeoutMs: 20000,
  restartAfterMs: 500, switchTimeoutMs: 10000, requestTimeoutMs: 15000, maxMessageBytes: 65536,
  iceServers: [{ urls: 'turn:turn.example:3478', username: 'u', credential: 'p' }], iceTransportPolicy: 'relay',
  lowLatency: false, WebSocket, RTCPeerConnection,
};
const cloud: Cloud = connect('wss://cloud.example/ws', options);
const here = connect();
const withToken = connect({ token: 'eyJ...' });
const fromUrl = connect(new URL('ws://127.0.0.1:8080/ws'), { token: null });

// Cloud properties and events.
const state: CloudState = cloud.state;
const ids: string | null = cloud.clientId;
const when: number | null = cloud.nextAttemptAt ?? cloud.tokenExpiresAt;
const why: string | null = cloud.authReason;
const timeout: number = cloud.options.requestTimeoutMs;
const url: string = cloud.url;
for (const [id, r] of cloud.robots) console.log(id, r.name, r.serial, r.firmwareVersion, r.streams, r.deviceInfo, r.connectedAt, r.online, r.offlineSince);
const off = cloud.on('robots', (robots) => render(robots));
cloud.on('robot-available', (r) => console.log(r.robotId));
cloud.on('robot-unavailable', (r) => console.log(r.offlineSince));
cloud.on('state', ({ state: s, attempt, retryInMs, reason }) => console.log(s, attempt, retryInMs ?? 0, reason));
cloud.on('token-refreshed', ({ expiresAt }) => console.log(expiresAt + 1));
cloud.once('error', (err) => {
  const code: PortholeErrorCode = err.code;
  console.warn(code, err.message, err.detail?.reason, err.detail?.graceSeconds, err.detail?.retryInMs);
});
cloud.on('message', (m) => console.log(m.type));
cloud.addEventListener('robots', (e) => console.log((e as CustomEvent<RobotInfo[]>).detail.length));
off();
const robots: RobotInfo[] = cloud.list();
const all: Session[] = cloud.sessions();
cloud.setToken('eyJ...');
cloud.setToken(tokenFn);
cloud.setToken(null);
cloud.reconnectNow();

// Sessions.
const session = cloud.openSession('robot-1', {
  streamTypes: ['color', 'depth'], deviceId: 'cam-0', iceServers: [], iceTransportPolicy: 'all', lowLatency: true,
});
const stop: () => void = session.attach(video);
session.on('state', ({ state: s }) => { if (s === 'connected') stop(); });
session.on('track', ({ track, stream }) => console.log(track.kind, stream?.id));
session.on('streamtypes', ({ streamTypes }) => console.log(streamTypes.join()));
session.on('signaling', ({ signaling }) => console.log(signaling));
session.on('telemetry', (t) => console.log(t.streams?.color?.fps));
session.on('error', (e) => console.log(e.code));
session.once('closed', ({ reason, message, error }) => {
  const r: CloseReason = reason;
  console.log(r, message, error?.code);
});
const types: StreamType[] = await session.switchStream('depth');
await session.switchStream(['infrared-1', 'infrared-2']);
const stats: SessionStats | null = await session.stats();
if (stats) {
  console.log(stats.fps, stats.bitrateKbps, stats.rttMs, stats.width, stats.height, stats.packetsLost, stats.packetsReceived,
    stats.framesDecoded, stats.framesDropped, stats.decodeTimeMs, stats.jitterBufferMs, stats.codec, stats.candidateType,
    stats.localCandidateType, stats.remoteCandidateType, stats.protocol, stats.relayProtocol, stats.turnServer,
    stats.latencyMs, stats.robot?.fps, stats.robot?.viewers, stats.streamTypes, stats.timestamp);
}
const restarted: boolean = session.restartIce();
console.log(session.id, session.robotId, session.state, session.signaling, session.streamTypes, session.stream,
  session.telemetry, session.error, session.closeReason, session.latencyMs, session.iceRestarts, session.peerConnection,
  types, restarted, state, ids, when, why, timeout, url, robots, all, here, withToken, fromUrl);
session.close();

// The robot's REST API through the cloud.
interface OptionValue { current_value: number }
const res: RobotResponse<OptionValue> = await cloud.request<OptionValue>('robot-1', 'PUT',
  '/api/devices/123/sensors/123-sensor-0/options/exposure', { value: 8000 }, { timeoutMs: 5000 });
if (res.ok) console.log(res.body.current_value, res.status);
const { status, body } = await cloud.request('robot-1', 'get', '/api/devices/');
console.log(status, body);
try {
  await cloud.request('robot-1', 'GET', '/api/devices/');
} catch (e) {
  if (e instanceof PortholeError && e.code === 'timeout') console.log(e.detail?.requestId);
}
cloud.close();

// The helpers.
const all4: readonly string[] = STREAM_TYPES;
console.log(all4, webrtcSupported(), webrtcSupported(globalThis), pageCloudUrl(), pageCloudUrl(location),
  defaultCloudUrl(new URL('http://a/')), backoffDelay(3), backoffDelay(3, 100, 1000, Math.random),
  closeMessage('timeout'), closeMessage('closed-by-robot', new PortholeError('session-error', 'x')),
  new PortholeError('closed', 'bye', { reason: 'x' }).detail);
tuneForLowLatency(session.peerConnection?.getReceivers()[0]);

// Misuse the declarations must refuse.
// @ts-expect-error an unknown option
connect('ws://x/ws', { reconect: false });
// @ts-expect-error a number is not a token
connect('ws://x/ws', { token: 42 });
// @ts-expect-error an unknown event
cloud.on('robot-added', () => {});
// @ts-expect-error robots is a list, not one robot
cloud.on('robots', (r: RobotInfo) => console.log(r));
// @ts-expect-error PATCH is not a robot API method
void cloud.request('robot-1', 'PATCH', '/api/x');
// @ts-expect-error the state is read-only
cloud.state = 'open';
// @ts-expect-error streamTypes is a list
cloud.openSession('robot-1', { streamTypes: 'color' });
// @ts-expect-error sessions come from openSession()
new Session();
// @ts-expect-error stats may be null
console.log((await session.stats()).fps);
