// colormap.js - the depth colormap of Porthole robots, for legends and for
// reading a depth picture back.
//
// The robot colours depth d (metres) from NEAR_M to FAR_M linearly onto the
// "jet" ramp (blue near, red far), piecewise linear through the stops below;
// nearer clamps to blue, farther to dark red, no data (0) is black. That is
// the default; the robot also has "turbo" and "gray" and a settable range
// (depthColorWith). This file must match src/robot/colormap.c.

/** Depth at the blue end of the ramp, metres. */
export const NEAR_M = 0.3;
/** Depth at the red end of the ramp, metres. */
export const FAR_M = 6.0;

/** The ramp: [t, r, g, b] stops, t in [0, 1]. */
export const STOPS = Object.freeze([
  [0, 0, 0, 143],
  [0.125, 0, 0, 255],
  [0.375, 0, 255, 255],
  [0.625, 255, 255, 0],
  [0.875, 255, 0, 0],
  [1, 128, 0, 0],
]);

/**
 * The colour at position t of the ramp (clamped to [0, 1]).
 * @param {number} t
 * @returns {[number, number, number]} r, g, b in 0..255
 */
export function rampColor(t) {
  if (!(t > 0)) t = 0; // also NaN
  if (t > 1) t = 1;
  for (let i = 1; i < STOPS.length; i++) {
    const [t1, r1, g1, b1] = STOPS[i];
    if (t <= t1) {
      const [t0, r0, g0, b0] = STOPS[i - 1];
      const f = (t - t0) / (t1 - t0);
      return [Math.round(r0 + (r1 - r0) * f), Math.round(g0 + (g1 - g0) * f),
        Math.round(b0 + (b1 - b0) * f)];
    }
  }
  return [128, 0, 0];
}

/**
 * The colour of depth d metres, as the robot draws it; d <= 0 (no data) is black.
 * @param {number} d metres
 * @returns {[number, number, number]}
 */
export function depthColor(d) {
  if (!(d > 0)) return [0, 0, 0];
  return rampColor((d - NEAR_M) / (FAR_M - NEAR_M));
}

/**
 * The CSS linear-gradient() that draws the ramp from NEAR_M (left) to FAR_M.
 * @param {string} [direction] e.g. "to right" (default) or "to top"
 */
export function cssGradient(direction = 'to right') {
  const stops = STOPS.map(([t, r, g, b]) => `rgb(${r} ${g} ${b}) ${(t * 100).toFixed(1)}%`);
  return `linear-gradient(${direction}, ${stops.join(', ')})`;
}

/**
 * Where depth d sits along the legend, 0..1.
 * @param {number} d metres
 */
export function depthPosition(d) {
  return Math.min(1, Math.max(0, (d - NEAR_M) / (FAR_M - NEAR_M)));
}

/**
 * Reads a depth back from a colour (the inverse of depthColor, nearest point
 * on the ramp). Returns 0 for black (no data) and NaN for a colour far from
 * the ramp (more than `tolerance` in RGB distance).
 * @param {number} r @param {number} g @param {number} b
 * @param {number} [tolerance]
 */
export function colorToDepth(r, g, b, tolerance = 60) {
  if (r + g + b < 30) return 0;
  let best = Infinity;
  let bestT = NaN;
  for (let i = 0; i <= 512; i++) {
    const t = i / 512;
    const [cr, cg, cb] = rampColor(t);
    const dist = Math.hypot(cr - r, cg - g, cb - b);
    if (dist < best) { best = dist; bestT = t; }
  }
  return best <= tolerance ? NEAR_M + bestT * (FAR_M - NEAR_M) : NaN;
}

/** The ramps a robot can colour depth with. */
export const RAMPS = Object.freeze(['jet', 'turbo', 'gray']);

const byte = (v) => Math.round(Math.min(255, Math.max(0, v)));

/**
 * The colour at position t (clamped to [0, 1]) of ramp 'jet', 'turbo'
 * (the polynomial approximation of Turbo the robot uses) or 'gray' (white
 * near, dark far).
 * @param {string} ramp @param {number} t
 * @returns {[number, number, number]}
 */
export function rampColorOf(ramp, t) {
  if (!(t > 0)) t = 0;
  if (t > 1) t = 1;
  if (ramp === 'turbo') {
    return [
      byte(34.61 + t * (1172.33 - t * (10793.56 - t * (33300.12 - t * (38394.49 - t * 14825.05))))),
      byte(23.31 + t * (557.33 + t * (1225.33 - t * (3574.96 - t * (1073.77 + t * 707.56))))),
      byte(27.2 + t * (3211.1 - t * (15327.97 - t * (27814.0 - t * (22569.18 - t * 6838.66))))),
    ];
  }
  if (ramp === 'gray') {
    const g = byte(255 - 235 * t);
    return [g, g, g];
  }
  return rampColor(t);
}

/**
 * The colour of depth d metres under settings {colormap, near, far} (the
 * robot's depth-colormap message); d <= 0 is black.
 */
export function depthColorWith(settings, d) {
  if (!(d > 0)) return [0, 0, 0];
  const near = settings?.near ?? NEAR_M;
  const far = settings?.far ?? FAR_M;
  return rampColorOf(settings?.colormap ?? 'jet', (d - near) / (far - near));
}

/** The CSS linear-gradient() of a ramp, sampled in 16 steps. */
export function cssGradientOf(ramp, direction = 'to right') {
  if (ramp !== 'turbo' && ramp !== 'gray') return cssGradient(direction);
  const stops = [];
  for (let i = 0; i <= 16; i++) {
    const [r, g, b] = rampColorOf(ramp, i / 16);
    stops.push(`rgb(${r} ${g} ${b}) ${(i / 16 * 100).toFixed(1)}%`);
  }
  return `linear-gradient(${direction}, ${stops.join(', ')})`;
}
