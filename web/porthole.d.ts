// porthole.d.ts - TypeScript declarations of the Porthole viewer SDK
// (porthole.js, next to this file; porthole-cloud serves both). The guide
// is docs/VIEWER.md, the wire contract docs/PROTOCOL.md. Checked by
// tests/sdk/types.mjs (tsc --noEmit against tests/sdk/usage.ts).

/** The stream types of a RealSense-like robot camera. */
import type { DepthCalibration, DepthColormap, DepthConfig, DepthError, DepthFrame, DepthRequest,
  Point3, PointCloud, PointCloudOptions } from './depth.js';

export declare const STREAM_TYPES: readonly ['color', 'depth', 'infrared-1', 'infrared-2'];

/** A stream type: one of STREAM_TYPES, or another name a robot lists (1 to 32 of [A-Za-z0-9._:@-]). */
export type StreamType = 'color' | 'depth' | 'infrared-1' | 'infrared-2' | (string & {});

/** The stable, machine-readable codes of PortholeError. */
export type PortholeErrorCode =
  | 'cloud-unreachable' | 'cloud-error' | 'protocol' | 'robot-not-found' | 'session-limit'
  | 'session-error' | 'switch-failed' | 'timeout' | 'connection-failed' | 'signaling-unavailable'
  | 'no-webrtc' | 'invalid-argument' | 'closed'
  | 'unauthorized' | 'token-expired' | 'token-unavailable';

/**
 * What came with an error, by code: cloud-error {code, reason?, requestType?,
 * requestId?}; unauthorized {reason, requestType?}; token-expired
 * {graceSeconds}; cloud-unreachable while reconnecting {retryInMs, attempt},
 * after waiting for the connection {timeoutMs, state, requestId?}; protocol
 * {message} (what the cloud sent); timeout of a request {requestId}.
 */
export interface PortholeErrorDetail {
  code?: string;
  reason?: string;
  requestType?: string;
  requestId?: string;
  graceSeconds?: number | null;
  retryInMs?: number;
  attempt?: number;
  timeoutMs?: number;
  state?: CloudState;
  message?: unknown;
  [key: string]: unknown;
}

/** An error reported by the SDK (an 'error' event, a rejected promise, a session's error). */
export declare class PortholeError extends Error {
  constructor(code: PortholeErrorCode, message: string, detail?: PortholeErrorDetail);
  readonly name: 'PortholeError';
  code: PortholeErrorCode;
  detail: PortholeErrorDetail | undefined;
}

/** Why a token function is asked: before each (re)connect, at expiry, or after setToken(fn). */
export interface TokenRequest { reason: 'connect' | 'expired' | 'refresh' }

/** Returns the viewer's token (a JWT), or null for none; may be async. */
export type TokenFunction = (why: TokenRequest) => string | null | undefined | Promise<string | null | undefined>;

/** Options of connect(). Every one is optional; the defaults are docs/VIEWER.md's. */
export interface ConnectOptions {
  /** The viewer's token for a cloud with access control, or a function returning one. */
  token?: string | TokenFunction | null;
  /** A fixed client id (then only one tab may use it at a time); default: the cloud picks. */
  clientId?: string | null;
  /** Reconnect after a lost connection (default true). */
  reconnect?: boolean;
  /** Backoff of reconnect attempts: full jitter between these (500, 30000). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long to wait for the answer to client-register, and for a token function (10000). */
  registerTimeoutMs?: number;
  /** create-session to session-created, including any wait for the connection (10000). */
  sessionTimeoutMs?: number;
  /** session-created to the robot's offer (15000). */
  offerTimeoutMs?: number;
  /** Answer to media connected, and lost media back (20000). */
  connectTimeoutMs?: number;
  /** Ask the robot for an ICE restart after this long without video bytes; 0: never (500). */
  restartAfterMs?: number;
  /** switch-stream-type to the robot's confirmation (10000). */
  switchTimeoutMs?: number;
  /** How long request() waits, including any wait for the connection (15000). */
  requestTimeoutMs?: number;
  /** The cloud's --max-message: request() refuses to send a bigger message (65536). */
  maxMessageBytes?: number;
  /** STUN/TURN servers for sessions; null (default) uses those the cloud hands out. */
  iceServers?: RTCIceServer[] | null;
  /** 'relay' sends everything through TURN (default 'all'). */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Minimal receive jitter buffer (default true). */
  lowLatency?: boolean;
  /** The viewer makes the offer (default true): the browser is the controlling ICE agent and nominates at once. false: the robot offers. */
  viewerOffers?: boolean;
  /** Implementations to use instead of the globals (tests, Node). */
  WebSocket?: { new (url: string): WebSocket };
  RTCPeerConnection?: { new (config?: RTCConfiguration): RTCPeerConnection };
  /** For fresh TURN credentials (GET /api/ice-servers) before an ICE restart. */
  fetch?: typeof fetch;
}

/** The options as the Cloud holds them (defaults filled in; the token is never here). */
export type ResolvedConnectOptions = Required<Omit<ConnectOptions, 'token' | 'WebSocket' | 'RTCPeerConnection' | 'fetch'>> &
  Pick<ConnectOptions, 'WebSocket' | 'RTCPeerConnection' | 'fetch'>;

/** Options of cloud.openSession(). */
export interface SessionOptions {
  /** One video track per type, in order (default ['color']). */
  streamTypes?: StreamType[];
  /** The robot's camera to use (at most 128 characters). */
  deviceId?: string | null;
  /** Overrides connect()'s iceServers and the cloud's. */
  iceServers?: RTCIceServer[];
  /** Overrides connect()'s iceTransportPolicy. */
  iceTransportPolicy?: RTCIceTransportPolicy;
  /** Overrides connect()'s lowLatency. */
  lowLatency?: boolean;
  /** Overrides connect()'s viewerOffers. */
  viewerOffers?: boolean;
  /** Metric depth over the session's depth data channel (docs/VIEWER.md):
   * true for the defaults, or {rate, decimation, color}. */
  depth?: boolean | DepthRequest;
}

/** What the viewer knows of one robot. */
export interface RobotInfo {
  robotId: string;
  /** deviceInfo.name, or the id. */
  name: string;
  /** deviceInfo.serial, or ''. */
  serial: string;
  /** deviceInfo.firmwareVersion, or ''. */
  firmwareVersion: string;
  /** deviceInfo.streams, or STREAM_TYPES. */
  streams: StreamType[];
  /** The robot's own object, as sent. */
  deviceInfo: Record<string, unknown>;
  /** ISO-8601, from the cloud. */
  connectedAt: string | null;
  /** false once the cloud said it left (it stays in the list). */
  online: boolean;
  /** Date.now() when it went offline. */
  offlineSince: number | null;
}

export type CloudState = 'connecting' | 'open' | 'reconnecting' | 'unauthorized' | 'closed';

export interface CloudStateEvent {
  state: CloudState;
  /** Reconnect attempts since the last registration. */
  attempt: number;
  /** While reconnecting: the wait before the next attempt (0: now); else null. */
  retryInMs: number | null;
  /** With 'unauthorized': the cloud's refusal code (token-missing, token-expired, bad-signature...). */
  reason?: string;
}

/** A message from the cloud (docs/PROTOCOL.md). */
export interface CloudMessage { type: string; [field: string]: unknown }

export interface CloudEventMap {
  state: CloudStateEvent;
  robots: RobotInfo[];
  'robot-available': RobotInfo;
  'robot-unavailable': RobotInfo;
  'token-refreshed': { expiresAt: number };
  error: PortholeError;
  message: CloudMessage;
}

/** request()'s options. */
export interface RequestOptions {
  /** Overrides requestTimeoutMs. */
  timeoutMs?: number;
}

/** An answer to request(), whatever its status; body is the robot's JSON (error bodies: {detail}). */
export interface RobotResponse<T = unknown> {
  status: number;
  body: T;
  /** status is 2xx. */
  ok: boolean;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'get' | 'post' | 'put' | 'delete';

/** A connection to porthole-cloud; an EventTarget of CustomEvents too. */
export declare class Cloud extends EventTarget {
  constructor(url?: string | URL | null, options?: ConnectOptions);
  readonly options: ResolvedConnectOptions;
  /** The /ws URL in use ('' when none could be found). */
  readonly url: string;
  readonly state: CloudState;
  /** The cloud's refusal code while 'unauthorized', else null. */
  readonly authReason: string | null;
  /** When the token in use expires (Unix seconds), once the cloud said so. */
  readonly tokenExpiresAt: number | null;
  /** The id the cloud registered us under, once open. */
  readonly clientId: string | null;
  /** Every robot seen, online or not. */
  readonly robots: Map<string, RobotInfo>;
  /** Date.now() of the next reconnect attempt while reconnecting, else null. */
  readonly nextAttemptAt: number | null;

  /** Calls fn(detail) for every event of this type; returns the unsubscribe function. */
  on<K extends keyof CloudEventMap>(type: K, fn: (detail: CloudEventMap[K]) => void): () => void;
  /** Calls fn(detail) for the next event of this type only. */
  once<K extends keyof CloudEventMap>(type: K, fn: (detail: CloudEventMap[K]) => void): () => void;

  /** The robots, online first, then by name. */
  list(): RobotInfo[];
  /** The sessions of this connection (created, or waiting to be). */
  sessions(): Session[];
  /** Opens a session; always returns one (a failure arrives as its 'error' and 'closed'). */
  openSession(robotId: string, options?: SessionOptions): Session;
  /** Calls the robot's REST API (docs/API.md, docs/openapi.yaml) through the cloud. */
  request<T = unknown>(robotId: string, method: HttpMethod, path: string, body?: unknown,
    options?: RequestOptions): Promise<RobotResponse<T>>;
  /** Replaces the token and uses it at once (refresh-token, or a new registration). */
  setToken(token: string | TokenFunction | null): void;
  /** While reconnecting: now; while unauthorized: register again. */
  reconnectNow(): void;
  /** Closes every session and the connection; no reconnect after this. */
  close(): void;
}

export type SessionState = 'requesting' | 'negotiating' | 'connecting' | 'connected' | 'interrupted' | 'closed';

export type CloseReason =
  | 'closed-by-client' | 'closed-by-robot' | 'peer-disconnected' | 'server-shutdown' | 'signaling-lost'
  | 'connection-failed' | 'timeout' | 'robot-not-found' | 'session-limit' | 'session-error'
  | 'unauthorized' | 'failed' | (string & {});

export interface SessionClosedEvent {
  reason: CloseReason;
  /** A sentence for people. */
  message: string;
  error?: PortholeError;
}

/** The robot's telemetry object (about once a second); streams[type] has fps, bitrateKbps, viewers. */
export interface Telemetry {
  streams?: Record<string, { fps?: number; bitrateKbps?: number; viewers?: number; [k: string]: unknown }>;
  [field: string]: unknown;
}

export interface SessionEventMap {
  state: { state: SessionState };
  track: { track: MediaStreamTrack; stream: MediaStream | null };
  streamtypes: { streamTypes: StreamType[] };
  signaling: { signaling: 'detached' };
  telemetry: Telemetry;
  error: PortholeError;
  closed: SessionClosedEvent;
  depth: DepthFrame;
  depthconfig: DepthConfig;
  depthcalibration: DepthCalibration;
  depthcolormap: DepthColormap;
  deptherror: DepthError;
}

/** What session.stats() resolves with; rates are over the time since the previous call. */
export interface SessionStats {
  /** ms */
  timestamp: number;
  fps: number | null;
  bitrateKbps: number | null;
  rttMs: number | null;
  width: number | null;
  height: number | null;
  packetsLost: number | null;
  packetsReceived: number | null;
  framesDecoded: number | null;
  framesDropped: number | null;
  /** Average per decoded frame. */
  decodeTimeMs: number | null;
  /** Average per emitted frame. */
  jitterBufferMs: number | null;
  /** e.g. 'VP8', 'H264'. */
  codec: string | null;
  /** The less direct end of the selected pair. */
  candidateType: 'host' | 'srflx' | 'prflx' | 'relay' | null;
  localCandidateType: string | null;
  remoteCandidateType: string | null;
  /** 'udp' or 'tcp'. */
  protocol: string | null;
  /** Through TURN: how the browser reaches the TURN server ('udp', 'tcp', 'tls'). */
  relayProtocol: string | null;
  /** Through TURN: the TURN server's URL. */
  turnServer: string | null;
  /** Glass-to-glass, from the colour marker (attach()). */
  latencyMs: number | null;
  /** The robot's own figures of the current stream, from its telemetry:
   * its encoder's fps and bitrate, its viewers, and this viewer's bandwidth
   * estimate (kbit/s, null before the first feedback), the rung of the
   * ladder it receives (0 = the cheapest) and retransmissions sent to it. */
  robot: {
    fps: number | null; bitrateKbps: number | null; viewers: number | null;
    estimateKbps: number | null; layer: number | null; retransmissions: number | null;
  } | null;
  streamTypes: StreamType[];
}

/** One robot's video, peer to peer; an EventTarget of CustomEvents too. */
export declare class Session extends EventTarget {
  private constructor();
  /** The sessionId, null until the cloud created it. */
  readonly id: string | null;
  readonly robotId: string;
  readonly state: SessionState;
  /** 'detached' once the cloud connection it was made on is gone (media may still flow). */
  readonly signaling: 'attached' | 'detached';
  readonly streamTypes: StreamType[];
  /** null where the environment has no MediaStream. */
  readonly stream: MediaStream | null;
  readonly telemetry: Telemetry | null;
  /** The last error. */
  readonly error: PortholeError | null;
  /** Why it closed, once closed. */
  readonly closeReason: CloseReason | null;
  /** Glass-to-glass latency in ms (colour, with attach()), or null. */
  readonly latencyMs: number | null;
  /** ICE restarts answered on this session. */
  readonly iceRestarts: number;
  /** null before the offer and after close. */
  readonly peerConnection: RTCPeerConnection | null;

  on<K extends keyof SessionEventMap>(type: K, fn: (detail: SessionEventMap[K]) => void): () => void;
  once<K extends keyof SessionEventMap>(type: K, fn: (detail: SessionEventMap[K]) => void): () => void;

  /** Shows the stream in a <video> (muted, inline, autoplay); returns a function that stops measuring latency. */
  attach(video: HTMLVideoElement): () => void;
  /** Resolves with the new stream types when the robot confirms. */
  switchStream(type: StreamType | StreamType[]): Promise<StreamType[]>;
  /** null before the connection. */
  stats(): Promise<SessionStats | null>;
  /** Asks the robot for an ICE restart now; false when it cannot ask. */
  restartIce(): boolean;
  /** The latest metric depth frame, or null (a session that asked for depth). */
  readonly depth: DepthFrame | null;
  /** The depth channel's state: what the robot applied, its calibration and colormap, the last error, counts. */
  readonly depthInfo: {
    config: DepthConfig | null; calibration: DepthCalibration | null; colormap: DepthColormap | null;
    error: DepthError | null; frames: number; bytes: number;
  };
  /** Changes the depth channel's rate, decimation or colour; resolves with what the robot applied (clamped). */
  setDepth(o: DepthRequest): Promise<DepthConfig>;
  /** Changes how the robot colours its depth video, for every viewer. */
  setDepthColormap(o: Partial<DepthColormap>): Promise<DepthColormap>;
  /** Metres at pixel (x, y) of the video of stream (default the session's), or null. */
  depthAt(x: number, y: number, stream?: string): number | null;
  /** The 3D point (metres, depth camera frame) at pixel (x, y), or null. */
  deproject(x: number, y: number, stream?: string): Point3 | null;
  /** Positions (and colours) for WebGL from the latest frame, or null. */
  pointCloud(o?: PointCloudOptions): PointCloud | null;
  /** Tells the cloud, closes the peer connection, stops the tracks; emits 'closed' once. */
  close(): void;
}

/** Connects to porthole-cloud (without a URL: the cloud that served the page) and keeps connected. */
export declare function connect(url?: string | URL | null, options?: ConnectOptions): Cloud;
export declare function connect(options: ConnectOptions): Cloud;

/** True when this environment can receive WebRTC video. */
export declare function webrtcSupported(g?: typeof globalThis): boolean;

/** ws(s)://<the page's host>/ws, or null for a page not served over http(s). */
export declare function pageCloudUrl(loc?: Location | URL): string | null;

/** The viewer page's cloud: its ?cloud= parameter, else pageCloudUrl(). */
export declare function defaultCloudUrl(loc?: Location | URL): string | null;

/** Backoff before reconnect attempt n (0-based): full jitter, at least minMs. */
export declare function backoffDelay(attempt: number, minMs?: number, maxMs?: number, random?: () => number): number;

/** Sets a receiver's jitter buffer target (and playout delay hint) to 0. */
export declare function tuneForLowLatency(receiver: RTCRtpReceiver | null | undefined): void;

/** A sentence for people about why a session closed. */
export declare function closeMessage(reason: CloseReason, error?: { message?: string } | null): string;
