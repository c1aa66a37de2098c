// adapt-plot.mjs - one scenario of bench/adapt.sh: the per-second samples
// of each viewer (netlab-viewer --samples) turned into a summary (JSON
// lines on stdout), a small table over time (stderr) and an SVG plot of
// received bitrate, fps and layer over time (plain SVG text, no package).
//
//   node bench/adapt-plot.mjs --scenario NAME [--open-at S] [--svg FILE]
//        LABEL=FILE...
//
// FILE is a viewer's stdout: "sample=I frames= fps= kbps= width= g2g_p50=
// g2g_max= layer= estimate_kbps= encoders= rtx_sent=" lines, then its
// summary line (g2g_p50= g2g_p95= g2g_n= over the window it was given,
// --g2g-after); or tests/netlab/adapt.sh's output, whose Chromium samples
// are JSON ({"sample", "framesDecoded", "fps", "kbps", "width", "layer",
// ...}; no glass to glass). Figures "after 10 s" leave out the first 10 samples. With
// --open-at S (the link opened before sample S+1), top_after_s is how long
// after the opening the viewer was first on the top rung (layer 4).
// Asserts nothing.

import { readFileSync, writeFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  if (i < 0) return dflt;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const scenario = opt('--scenario');
const openAt = Number(opt('--open-at', '0'));
const svgFile = opt('--svg', null);
if (!scenario || !argv.length || argv.some((a) => !a.includes('='))) {
  console.error('usage: node bench/adapt-plot.mjs --scenario NAME [--open-at S] [--svg FILE] LABEL=FILE...');
  process.exit(2);
}

const kv = (line) => Object.fromEntries(line.trim().split(/\s+/).map((f) => f.split('='))
  .filter((p) => p.length === 2).map(([k, v]) => [k, Number.isNaN(Number(v)) ? v : Number(v)]));

const viewers = argv.map((a) => {
  const [label, file] = [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)];
  let text = '';
  try { text = readFileSync(file, 'utf8'); } catch (e) { console.error(`adapt-plot: ${file}: ${e.message}`); }
  const lines = text.split('\n');
  // tests/netlab/adapt.sh's Chromium samples (browser.mjs --play) are JSON.
  const fromJson = (l) => {
    const j = JSON.parse(l.slice(l.indexOf('{')));
    return { sample: j.sample, frames: j.framesDecoded, fps: j.fps, kbps: j.kbps, width: j.width, g2g_p50: -1,
      layer: j.layer, estimate_kbps: j.estimateKbps, encoders: j.encoders, rtx_sent: j.rtxSent };
  };
  const samples = lines.filter((l) => l.startsWith('sample=')).map(kv)
    .concat(lines.filter((l) => l.includes('{"sample"')).map(fromJson));
  const end = lines.find((l) => l.startsWith('request_ms=')) || '';
  return { label, samples, end: kv(end.replace(/"[^"]*"/g, 'x')) };
});

const AFTER = 10;
const round = (v, d = 0) => (Number.isFinite(v) ? Number(v.toFixed(d)) : null);
for (const v of viewers) {
  const s = v.samples;
  const late = s.slice(AFTER);
  const base = s[AFTER - 1];
  const last = s[s.length - 1] || {};
  const out = { bench: 'adapt', scenario, viewer: v.label, samples: s.length };
  if (late.length && base) {
    out.fps = round((last.frames - base.frames) / late.length, 1);
    out.kbps = round(late.reduce((a, x) => a + x.kbps, 0) / late.length);
    out.min_fps = round(Math.min(...late.map((x) => x.fps)), 1);
  }
  if (v.end.g2g_n > 0) Object.assign(out, { g2g_p50: v.end.g2g_p50, g2g_p95: v.end.g2g_p95, g2g_n: v.end.g2g_n });
  Object.assign(out, { layer: last.layer, width: last.width, estimate_kbps: last.estimate_kbps, rtx_sent: last.rtx_sent,
    encoders_max: s.length ? Math.max(...s.map((x) => x.encoders)) : null });
  if (v.end.error) out.error = 'the viewer stopped early';
  if (openAt > 0) {
    const top = s.find((x) => x.sample > openAt && x.layer === 4);
    out.top_after_s = top ? top.sample - openAt : null;
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

// The table: every 5 s, per viewer kbps / fps / g2g p50 / layer.
const pad = (x, w) => String(x).padStart(w);
const head = ['t (s)', ...viewers.map((v) => `${v.label}: kbit/s fps g2g layer`)];
const rows = [head.map((h, i) => pad(h, i ? 30 : 5)).join(' ')];
const n = Math.max(...viewers.map((v) => v.samples.length));
for (let t = 5; t <= n; t += 5) {
  rows.push([pad(t, 5), ...viewers.map((v) => {
    const x = v.samples[t - 1];
    return pad(x ? `${Math.round(x.kbps)} ${Math.round(x.fps * 10) / 10} ${x.g2g_p50 >= 0 ? `${x.g2g_p50}ms` : '-'} ${x.layer}` : '-', 30);
  })].join(' '));
}
console.error(`adapt-bench: [${scenario}]${openAt ? ` the link opens after ${openAt} s` : ''}\n${rows.join('\n')}`);

// The plot: three panels sharing the time axis.
if (svgFile) {
  const W = 760, PH = 150, L = 60, R = 150, T = 30, GAP = 40;
  const panels = [
    { key: 'kbps', title: 'received kbit/s', max: Math.max(500, ...viewers.flatMap((v) => v.samples.map((x) => x.kbps))) },
    { key: 'fps', title: 'frames/s', max: 35 },
    { key: 'layer', title: 'layer (0-2 half size, 3-4 full)', max: 4 },
  ];
  const colors = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd'];
  const H = T + panels.length * (PH + GAP);
  const x = (t) => L + ((W - L - R) * t) / Math.max(1, n);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">\n`;
  svg += `<rect width="${W}" height="${H}" fill="white"/>\n`;
  svg += `<text x="${L}" y="18" font-size="13">bench/adapt.sh: ${scenario}${openAt ? ` (the link opens at ${openAt} s)` : ''}</text>\n`;
  panels.forEach((p, i) => {
    const top = T + i * (PH + GAP);
    const y = (v) => top + PH - (PH * Math.max(0, Math.min(v, p.max))) / p.max;
    svg += `<rect x="${L}" y="${top}" width="${W - L - R}" height="${PH}" fill="none" stroke="#999"/>\n`;
    svg += `<text x="${L}" y="${top - 4}">${p.title}</text>\n`;
    for (const f of [0, 0.5, 1]) {
      svg += `<text x="${L - 4}" y="${y(p.max * f) + 4}" text-anchor="end">${Math.round(p.max * f)}</text>\n`;
    }
    for (let t = 0; t <= n; t += 10) svg += `<text x="${x(t)}" y="${top + PH + 13}" text-anchor="middle">${t}s</text>\n`;
    if (openAt) svg += `<line x1="${x(openAt)}" x2="${x(openAt)}" y1="${top}" y2="${top + PH}" stroke="#aaa" stroke-dasharray="4 3"/>\n`;
    viewers.forEach((v, k) => {
      const pts = v.samples.filter((s) => Number.isFinite(s[p.key]) && s[p.key] >= 0)
        .map((s) => `${x(s.sample).toFixed(1)},${y(s[p.key]).toFixed(1)}`).join(' ');
      svg += `<polyline fill="none" stroke="${colors[k % colors.length]}" stroke-width="1.5" points="${pts}"/>\n`;
      if (i === 0) svg += `<text x="${W - R + 10}" y="${top + 14 + 16 * k}" fill="${colors[k % colors.length]}">${v.label}</text>\n`;
    });
  });
  svg += '</svg>\n';
  writeFileSync(svgFile, svg);
}
