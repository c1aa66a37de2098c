// marker.js - reads the capture-time marker that Porthole robots draw into
// colour frames, to measure glass-to-glass latency.
//
// The marker (src/robot/marker.h) is a row of 34 square blocks at the
// top-left corner, each floor(width / 40) pixels (at least 4): white, black,
// then 32 bits most significant first (white = 1), the capture time in
// milliseconds of the robot's wall clock modulo 2^32.

export const MARKER_BITS = 32;
export const MARKER_BLOCKS = 2 + MARKER_BITS;

/** Block edge in pixels for a frame this wide. */
export function markerBlockSize(width) {
  return Math.max(4, Math.floor(width / 40));
}

/**
 * Decodes the marker from RGBA pixels (ImageData.data) of a region that
 * starts at the frame's top-left corner and is at least MARKER_BLOCKS blocks
 * wide and one block high.
 * @param {Uint8ClampedArray} data RGBA
 * @param {number} stride region width in pixels
 * @param {number} block block edge in pixels
 * @returns {number|null} the 32-bit time, or null when no marker is there
 */
export function decodeMarker(data, stride, block) {
  const luma = (i) => {
    // Average the centre half of block i, to stay clear of coding artefacts at its edges.
    const q = Math.max(1, block >> 2);
    let sum = 0;
    let n = 0;
    for (let y = q; y < block - q; y++) {
      for (let x = i * block + q; x < (i + 1) * block - q; x++) {
        const o = (y * stride + x) * 4;
        sum += 0.299 * data[o] + 0.587 * data[o + 1] + 0.114 * data[o + 2];
        n++;
      }
    }
    return n ? sum / n : 0;
  };
  const white = luma(0);
  const black = luma(1);
  if (!(white > 160 && black < 96)) return null;
  const threshold = (white + black) / 2;
  let v = 0;
  for (let i = 0; i < MARKER_BITS; i++) v = (v * 2) + (luma(2 + i) > threshold ? 1 : 0);
  return v >>> 0;
}

/**
 * Reads the marker of the frame on show in a video element.
 * @param {HTMLVideoElement} video
 * @param {OffscreenCanvas|HTMLCanvasElement} canvas a scratch canvas, reused
 * @returns {number|null}
 */
export function readMarker(video, canvas) {
  const w = video.videoWidth;
  if (!w || !video.videoHeight) return null;
  const block = markerBlockSize(w);
  const rw = Math.min(w, block * MARKER_BLOCKS);
  if (canvas.width !== rw) canvas.width = rw;
  if (canvas.height !== block) canvas.height = block;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(video, 0, 0, rw, block, 0, 0, rw, block);
  return decodeMarker(ctx.getImageData(0, 0, rw, block).data, rw, block);
}

/**
 * Age in ms of a marker time read now (Date.now() mod 2^32 minus the
 * marker), or null when it makes no sense (clocks apart by more than a minute).
 * @param {number} markerMs
 */
export function markerAge(markerMs, nowMs = Date.now()) {
  const now32 = nowMs % 4294967296;
  let age = now32 - markerMs;
  if (age < -2147483648) age += 4294967296;
  if (age > 2147483648) age -= 4294967296;
  return Math.abs(age) > 60000 ? null : age;
}
