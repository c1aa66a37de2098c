// depth.d.ts - TypeScript declarations of depth.js (metric depth from a
// Porthole robot; docs/VIEWER.md "Metric depth", docs/PROTOCOL.md "Depth channel").

export declare const DEPTH_CHANNEL: 'depth';
export declare const DEPTH_CONTROL_CHANNEL: 'depth-control';
export declare const FRAME_HEADER_BYTES: 88;
export declare const CHUNK_HEADER_BYTES: 16;
export declare const MAX_DECIMATION: 16;

/** What openSession's `depth` option and setDepth take. */
export interface DepthRequest {
  /** Frames per second, 1..the camera's rate (clamped by the robot). */
  rate?: number;
  /** Keep every n-th pixel of every n-th row, 1..16 (clamped by the robot). */
  decimation?: number;
  /** Aligned colour per sample. */
  color?: boolean;
}

/** The settings in force, as the robot's depth-config says. */
export interface DepthConfig {
  rate: number;
  decimation: number;
  color: boolean;
  /** What the robot clamped, or null. */
  message: string | null;
}

export type DepthRamp = 'jet' | 'turbo' | 'gray';

export interface DepthColormap {
  colormap: DepthRamp;
  near: number;
  far: number;
}

export interface StreamIntrinsics {
  width: number;
  height: number;
  ppx: number;
  ppy: number;
  fx: number;
  fy: number;
  model: string;
  coeffs: [number, number, number, number, number];
}

export interface Extrinsics {
  from: 'depth';
  /** Row-major 3x3: p_stream = rotation * p_depth + translation. */
  rotation: number[];
  /** Metres. */
  translation: [number, number, number];
}

export interface DepthCalibration {
  type: 'depth-calibration';
  version: 1;
  units: 'metres';
  depthScale: number;
  sampleUnit: number;
  depthStream: 'depth';
  streams: Record<string, StreamIntrinsics>;
  extrinsics: Record<string, Extrinsics>;
}

export interface DepthError {
  code: 'no-depth' | 'invalid-config' | 'invalid-colormap' | 'invalid-message' | 'invalid-frame' | string;
  message: string;
}

/** The fields of a whole frame (parseFrame). */
export interface ParsedFrame {
  number: number;
  wallUs: number;
  monoUs: number;
  width: number;
  height: number;
  decimation: number;
  unit: number;
  fx: number;
  fy: number;
  ppx: number;
  ppy: number;
  mm: Uint16Array;
  rgb: Uint8Array | null;
  bytes: number;
}

export type Point3 = [number, number, number];

export interface PointCloud {
  /** x, y, z per point, metres, depth camera frame (x right, y down, z forward). */
  positions: Float32Array;
  /** r, g, b per point in 0..1, or null when not coloured. */
  colors: Float32Array | null;
  count: number;
}

export interface PointCloudOptions {
  /** Coarser than the frame, in pixels of the full image. */
  decimation?: number;
  colored?: boolean;
  /** The depth colormap for frames without aligned colour. */
  colormap?: DepthColormap | null;
}

export declare function lz4DecodeBlock(src: Uint8Array, dst: Uint8Array): number;
export declare function parseFrame(buf: Uint8Array): ParsedFrame;
export declare function depthRequest(opt: boolean | DepthRequest | null | undefined): DepthRequest | null;

export declare class Reassembler {
  constructor(keep?: number);
  dropped: number;
  push(message: ArrayBuffer | Uint8Array): Uint8Array | null;
}

export declare class DepthFrame {
  constructor(f: ParsedFrame, calibration?: DepthCalibration | null);
  readonly number: number;
  /** Capture time, ms, the robot's wall clock (the video marker's clock). */
  readonly captureTime: number;
  readonly monoUs: number;
  readonly width: number;
  readonly height: number;
  readonly decimation: number;
  readonly fx: number;
  readonly fy: number;
  readonly ppx: number;
  readonly ppy: number;
  readonly metres: Float32Array;
  readonly mm: Uint16Array;
  readonly rgb: Uint8Array | null;
  readonly bytes: number;
  readonly receivedAt: number;
  calibration: DepthCalibration | null;
  sample(i: number, j: number): number;
  pointOf(u: number, v: number, z: number): Point3;
  lookup(x: number, y: number, stream?: string): { point: Point3; z: number } | null;
  depthAt(x: number, y: number, stream?: string): number | null;
  deproject(x: number, y: number, stream?: string): Point3 | null;
  pointCloud(opts?: PointCloudOptions): PointCloud;
}

export declare class DepthLink {
  constructor(emit: (type: string, detail: unknown) => void, requested: DepthRequest | null);
  readonly requested: DepthRequest | null;
  readonly frame: DepthFrame | null;
  readonly calibration: DepthCalibration | null;
  readonly config: DepthConfig | null;
  readonly colormap: DepthColormap | null;
  readonly error: DepthError | null;
  readonly frames: number;
  readonly bytes: number;
  takeChannel(ch: RTCDataChannel): boolean;
  setDepth(opts: DepthRequest): Promise<DepthConfig>;
  setColormap(opts: Partial<DepthColormap>): Promise<DepthColormap>;
  close(): void;
}
