// table.mjs - turns the JSON lines of router_bench, token_bench, cloud-load.sh,
// cloud-cluster.sh,
// robot-latency.mjs, camera_bench, netlab.sh, adapt.sh, depth_bench and depth.mjs into one table: each figure, its value, the
// target (issue #6; the lab's, issue #12) and whether the target is met (or
// by how much it is missed).
// Targets are reported, never asserted: the exit status is 0 whenever the
// files could be read.
//
// Usage: node bench/table.mjs [--seconds N] FILE.jsonl...

import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

const args = process.argv.slice(2);
let seconds = null;
if (args[0] === '--seconds') { seconds = Number(args[1]); args.splice(0, 2); }

const lines = [];
for (const file of args) {
  let text = '';
  try { text = readFileSync(file, 'utf8'); } catch (e) { console.error(`table.mjs: ${file}: ${e.message}`); }
  for (const l of text.split('\n')) {
    if (!l.trim()) continue;
    try { lines.push(JSON.parse(l)); } catch { console.error(`table.mjs: ${file}: not JSON: ${l.slice(0, 80)}`); }
  }
}

const find = (pred) => lines.find(pred) || null;
const router = find((j) => j.bench === 'router');
const scen = (name) => find((j) => j.scenario === name && !j.config);
const metric = (name, label) => find((j) => j.bench === 'robot-latency' && j.metric === name &&
  (label === undefined || j.label === label));

const n = (v, digits = 0) => (typeof v === 'number' && Number.isFinite(v)
  ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-');

/** "met", or how far from the target; lower is better when !higher. */
function verdict(value, target, higher) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'no result';
  const ok = higher ? value >= target : value <= target;
  if (ok) return 'met';
  return higher ? `missed: ${n(target / value, 1)}x short` : `missed by ${n((value / target - 1) * 100)}%`;
}

const rows = [];
const row = (figure, value, target = '', status = '') => rows.push([figure, value, target, status]);
const error = (j) => (j && j.error ? ` (error: ${j.error})` : '');

if (router) {
  row('router alone: sessions/s (one core, no sockets)', n(router.sessions_per_s));
  row('router alone: ICE messages relayed/s', `${n(router.ice_per_s)} (${n(router.ns_per_ice / 1000, 1)} µs each)`);
}
const tokens = lines.filter((j) => j.bench === 'token');
if (tokens.length) {
  row('token verification per connection (CPU, one core)', tokens.map((j) => `${j.alg} ${n(j.us_per_verify, 1)} µs`).join(', '));
}
const s1 = scen('idle');
if (s1) {
  row(`S1 idle: server memory per connection, ${n(s1.registered)} clients`, `${n(s1.server_bytes_per_conn)} B${error(s1)}`,
    '<= 3,000 B at 19,000', s1.registered >= 19000 ? verdict(s1.server_bytes_per_conn, 3000, false)
      : `${verdict(s1.server_bytes_per_conn, 3000, false)} (at ${n(s1.registered)})`);
  row('S1 idle: connect+register rate; server CPU per registration',
    `${n(s1.registered_per_s)}/s; ${n(s1.server_cpu_us_per_registration, 0)} µs`);
}
const s2 = scen('session');
if (s2) {
  row(`S2 sessions/s (${s2.clients} clients, ${s2.robots} robots)`, `${n(s2.sessions_per_s)}${error(s2)}`, '>= 20,000',
    verdict(s2.sessions_per_s, 20000, true));
  row('S2 create-to-offer p50 / p95 / p99', `${n(s2.create_to_offer_p50_ms, 1)} / ${n(s2.create_to_offer_p95_ms, 1)} / ${n(s2.create_to_offer_p99_ms, 1)} ms`);
}
const s3 = scen('relay');
if (s3) {
  row(`S3 relayed messages/s (${s3.sessions} sessions, window ${s3.window})`, `${n(s3.msgs_per_s)}${error(s3)}`, '>= 500,000',
    verdict(s3.msgs_per_s, 500000, true));
  row('S3 one-way latency p50 / p99; server CPU per message', `${n(s3.latency_p50_ms, 1)} / ${n(s3.latency_p99_ms, 1)} ms; ${n(s3.server_cpu_us_per_msg, 1)} µs`);
}
const s4 = scen('fanout');
if (s4) {
  row(`S4 fan-out: last of ${n(s4.clients)} clients has robot-available`, `${n(s4.last_ms_median, 1)} ms${error(s4)}`,
    '< 50 ms at 5,000', verdict(s4.last_ms_median, 50, false));
  row('S4 server CPU per round', `${n(s4.server_cpu_us_per_round / 1000, 1)} ms`);
}
// The same generator with Socket.IO peers (cloud-load --sio): against native.
const s1sio = scen('idle-sio');
if (s1sio) {
  row(`S1 idle, Socket.IO peers: server memory per connection, ${n(s1sio.registered)} clients`,
    `${n(s1sio.server_bytes_per_conn)} B${error(s1sio)}${s1 ? ` (native ${n(s1.server_bytes_per_conn)} B)` : ''}`);
}
const s3sio = scen('relay-sio');
if (s3sio) {
  row('S3 relay, Socket.IO peers: messages/s; server CPU per message',
    `${n(s3sio.msgs_per_s)}; ${n(s3sio.server_cpu_us_per_msg, 1)} µs${error(s3sio)}${s3 ? ` (native ${n(s3.server_cpu_us_per_msg, 1)} µs)` : ''}`);
}
for (const j of [s2, s3, s3sio].filter(Boolean)) {
  row(`  CPU during ${j.scenario} (% of one core)`, `server ${j.server_cpu_pct}, generator ${j.gen_cpu_pct}, rest of machine ${j.other_cpu_pct}`);
}

// cloud-cluster.sh: S2 and S3 with workers and across instances on Redis.
for (const j of lines.filter((l) => l.config)) {
  if (j.config === 'million') {
    // million.sh: N registered clients over workers, then one robot.
    row(`million.sh ${n(j.clients_target)} clients (${j.server_workers} workers, ${j.gen_procs} generators): registered; setup`,
      `${n(j.registered)}; ${n(j.setup_s, 1)} s${error(j)}`);
    row(`  server memory per connection (RSS over workers); robot-available to all`,
      `${n(j.server_bytes_per_conn)} B; ${n(j.last_ms_max)} ms`);
  } else if (j.scenario === 'session')
    row(`S2 ${j.config}: sessions/s; server CPU per session`, `${n(j.sessions_per_s)}; ${n(j.server_cpu_us_per_session, 0)} µs${error(j)}`);
  else if (j.scenario === 'relay')
    row(`S3 ${j.config}: messages/s; server CPU per message`, `${n(j.msgs_per_s)}; ${n(j.server_cpu_us_per_msg, 1)} µs${error(j)}`);
}

const ff = metric('first_frame_ms');
if (ff) row(`first frame, click to first decoded frame (n=${ff.n})`, `p50 ${n(ff.p50)} ms, p95 ${n(ff.p95)} ms`, '<= 400 ms', verdict(ff.p50, 400, false));
const g2g = metric('glass_to_glass_ms');
if (g2g) {
  row(`glass to glass, 640x480@30 (${g2g.n} frames)`, `p50 ${n(g2g.p50)} ms, p95 ${n(g2g.p95)} ms`, 'p50 <= 60 ms', verdict(g2g.p50, 60, false));
  row('decoded fps during glass to glass', n(g2g.decoded_fps, 1));
}
const cpu = [1, 2, 5, 10].map((v) => metric('robot_cpu', `color x${v}`));
if (cpu.some(Boolean)) row('robot CPU, 1 / 2 / 5 / 10 viewers of color (% of a core)', cpu.map((c) => n(c?.cpu_pct_of_core, 1)).join(' / '));
const three = metric('robot_cpu', 'color+depth+infrared-1');
if (three) row('robot CPU, 3 viewers on color, depth, infrared-1', `${n(three.cpu_pct_of_core, 1)}% (3 encoders)`);
const ratio = metric('robot_cpu_ratio');
if (ratio) row('cost of 10 viewers / cost of 1', `${n(ratio.ratio_10_over_1, 2)} (line fit ${n(ratio.fit_ratio_10_over_1, 2)})`, '<= 1.5', verdict(ratio.ratio_10_over_1, 1.5, false));
// camera_bench: the robot's CPU per camera source, one viewer of color at 640x480@30.
const cams = lines.filter((j) => j.bench === 'camera-cpu');
const camName = { sim: 'simulator', 'gst-webcam': 'gst, webcam-sized (YUY2 test pattern)', replay: 'replay of the simulator' };
for (const j of cams) {
  row(`robot CPU, 1 viewer, camera ${camName[j.source] || j.source} (% of a core)`,
    j.error ? `not run: ${j.error}` : `${n(j.cpu_pct_of_core, 1)} (viewer ${n(j.viewer_fps, 1)} fps)`);
}
// The network lab (netlab.sh): paths host (direct), srflx, relay; viewers c, chromium.
const lab = (path, viewer, name) => find((j) => j.bench === 'netlab' && j.path === path && j.viewer === viewer
  && j.metric === name);
const labErr = find((j) => j.bench === 'netlab' && j.error && !j.path);
if (labErr) row('network lab (bench/netlab.sh)', `not run: ${labErr.error}`);
const both = (a, b) => (a === 'met' && b === 'met' ? 'met' : [a, b].filter((v) => v !== 'met').join('; '));
const labTargets = {
  srflx: { text: 'p50 <= 300 ms, p95 <= 500 ms', check: (j) => both(verdict(j.p50, 300, false), verdict(j.p95, 500, false)) },
  relay: { text: 'p50 <= 250 ms', check: (j) => verdict(j.p50, 250, false) },
};
const pathName = { host: 'direct (host)', srflx: 'srflx, 2 cone NATs', relay: 'relay, 2 symmetric NATs' };
const viewerName = { c: 'C viewer, from create-session', chromium: 'Chromium, from the Watch click' };
for (const viewer of ['c', 'chromium']) {
  for (const path of ['host', 'srflx', 'relay']) {
    const j = lab(path, viewer, 'first_frame_ms');
    if (!j) continue;
    const t = labTargets[path];
    row(`lab first frame, ${pathName[path]}; ${viewerName[viewer]} (n=${j.n}${j.wrong_path ? `, ${j.wrong_path} on another path` : ''})`,
      `p50 ${n(j.p50)} ms, p95 ${n(j.p95)} ms`, t ? t.text : '', t ? t.check(j) : '');
  }
  const direct = lab('host', viewer, 'glass_to_glass_ms');
  for (const path of ['host', 'srflx', 'relay']) {
    const j = lab(path, viewer, 'glass_to_glass_ms');
    if (!j) continue;
    const relayed = path === 'relay' && direct && Number.isFinite(j.p50) && Number.isFinite(direct.p50);
    row(`lab glass to glass, ${pathName[path]}; ${viewer === 'c' ? 'C viewer (20 ms jitter buffer)' : 'Chromium'} (${j.n} frames)`,
      `p50 ${n(j.p50)} ms, p95 ${n(j.p95)} ms${relayed ? ` (${j.p50 - direct.p50 >= 0 ? '+' : ''}${n(j.p50 - direct.p50)} ms)` : ''}`,
      path === 'relay' ? 'p50 within 10 ms of direct' : '', relayed ? verdict(j.p50 - direct.p50, 10, false) : '');
  }
}
const cpuRelay = [1, 3].map((v) => find((j) => j.bench === 'netlab' && j.path === 'relay' && j.metric === 'robot_cpu' && j.viewers === v));
const cpuSrflx = find((j) => j.bench === 'netlab' && j.path === 'srflx' && j.metric === 'robot_cpu' && j.viewers === 1);
if (cpuRelay.some(Boolean)) {
  const [one, three] = cpuRelay;
  const per = one && three ? (three.cpu_pct_of_core - one.cpu_pct_of_core) / 2 : null;
  row('lab robot CPU, relayed viewers 1 / 3 (% of a core)', `${n(one?.cpu_pct_of_core, 1)} / ${n(three?.cpu_pct_of_core, 1)}`
    + `${per !== null ? `; ${n(per, 1)} per extra viewer` : ''}${cpuSrflx ? `; 1 over srflx: ${n(cpuSrflx.cpu_pct_of_core, 1)}` : ''}`);
}
const loads = lines.filter((j) => j.bench === 'netlab' && j.metric === 'config');
if (loads.length) row('lab: load average (1 min) at the start of each path', loads.map((j) => `${j.path} ${n(j.loadavg_1m, 1)}`).join(', ') + ` (${loads[0].cores} cores)`);
const labBad = lines.filter((j) => j.bench === 'netlab' && j.error && j.path);
if (labBad.length) row('network lab errors', labBad.map((j) => `${j.path} ${j.viewer || ''}: ${j.error}`).join('; '));

// Adaptive quality (bench/adapt.sh; issue #15): C viewers with TWCC, each on its own link.
const ad = (scenario, viewer) => find((j) => j.bench === 'adapt' && j.scenario === scenario && j.viewer === viewer);
const adErr = find((j) => j.bench === 'adapt' && j.error && !j.scenario);
if (adErr) row('adaptive quality (bench/adapt.sh)', `not run: ${adErr.error}`);
const adRow = (label, j) => `${n(j.kbps)} kbit/s, ${n(j.fps, 1)} fps (min ${n(j.min_fps)}), g2g p50 ${n(j.g2g_p50)} / p95 ${n(j.g2g_p95)} ms, layer ${j.layer} at ${j.width} px${label}`;
const slow = ad('slow', '600kbit');
if (slow) {
  row('adapt: 600 kbit/s viewer after 10 s', adRow('', slow), '>= 14 fps, g2g p95 <= 300 ms',
    both(verdict(slow.fps, 14, true), verdict(slow.g2g_p95, 300, false)));
}
const fast = ad('slow', 'open');
if (fast) {
  row('adapt: unshaped viewer beside it', adRow('', fast), '>= 28 fps at >= 1.5 Mbit/s',
    both(verdict(fast.fps, 28, true), verdict(fast.kbps, 1500, true)));
}
// The link that opens and the loss: Chromium (NACK and RTX, so padding
// probes and retransmissions) against the target; the C viewer beside.
const chrRow = (j) => `${n(j.kbps)} kbit/s, ${n(j.fps, 1)} fps (min ${n(j.min_fps)}), layer ${j.layer} at ${j.width} px, ${n(j.rtx_sent)} retransmissions`;
for (const [label, j] of [['Chromium', ad('chromium-opens', 'chromium')], ['C viewer, no RTX', ad('opens', '600kbit')]]) {
  if (!j) continue;
  row(`adapt: 600 kbit/s link opens to 5 Mbit/s (${label}): back on the top layer after`,
    `${j.top_after_s === null || j.top_after_s === undefined ? 'not within the run' : `${n(j.top_after_s)} s`} (at the end: ${chrRow(j)})`,
    '<= 15 s', j.top_after_s === null || j.top_after_s === undefined ? 'missed' : verdict(j.top_after_s, 15, false));
}
for (const [label, j] of [['Chromium', ad('chromium-loss', 'chromium')], ['C viewer, no NACK', ad('loss', 'loss5')]]) {
  if (!j) continue;
  row(`adapt: viewer with 5% loss after 10 s (${label})`, `${chrRow(j)}${j.g2g_p95 !== undefined ? `, g2g p95 ${n(j.g2g_p95)} ms` : ''}`,
    '>= 25 fps', verdict(j.fps, 25, true));
}
const beside = ad('loss', 'open');
if (beside) row('adapt: unshaped viewer beside the lossy one (C)', adRow('', beside));
for (const j of lines.filter((x) => x.bench === 'adapt' && x.error && x.scenario)) row(`adapt: ${j.scenario}`, `error: ${j.error}`);
const adCpu = (mode, v) => find((j) => j.bench === 'adapt' && j.metric === 'robot_cpu' && j.mode === mode && j.viewers === v);
const fixed1 = adCpu('fixed', 1);
const ad1 = adCpu('adaptive', 1);
for (const v of [1, 5, 20]) {
  const j = adCpu('adaptive', v);
  if (!j) continue;
  const ratio = fixed1 && fixed1.cpu_pct > 0 ? j.cpu_pct / fixed1.cpu_pct : null;
  row(`adapt: robot CPU, ${v} viewer(s) on mixed links (% of a core; x one fixed-rate encode)`,
    `${n(j.cpu_pct, 1)}${ratio !== null ? ` (${n(ratio, 2)}x)` : ''}; ${j.playing}/${v} playing, <= ${j.encoders_max} encoders`,
    v === 20 ? '<= 1.6x one' : '', v === 20 && ratio !== null ? verdict(ratio, 1.6, false) : '');
}
if (fixed1) row('adapt: robot CPU, 1 viewer, one fixed-rate encode (ladder off)', `${n(fixed1.cpu_pct, 1)}${ad1 ? `; with the ladder ${n(ad1.cpu_pct, 1)}` : ''}`);

// The metric depth channel (depth_bench, bench/depth.mjs; issue #18).
for (const j of lines.filter((x) => x.bench === 'depth-codec')) {
  row(`depth frame bytes, 640x480 sim at decimation ${j.decimation}: raw / LZ4 / deltas+LZ4 (sent) / deltas+zstd-1`,
    `${n(j.raw_bytes / 1024, 1)} / ${n(j.lz4_bytes / 1024, 1)} / ${n(j.delta_lz4_bytes / 1024, 1)} / ${n(j.delta_zstd1_bytes / 1024, 1)} KiB`);
  row(`  packing CPU per frame at decimation ${j.decimation}, without / with colour`, `${n(j.pack_us / 1000, 2)} / ${n(j.pack_color_us / 1000, 2)} ms`
    + ` (${n(j.frame_color_bytes / 1024, 1)} KiB with colour)`);
}
const dbase = find((j) => j.bench === 'depth' && j.label === 'baseline');
for (const j of lines.filter((x) => x.bench === 'depth' && x.decimation && x.kbytes_per_s !== undefined)) {
  const extra = dbase && Number.isFinite(j.robot_cpu_pct) ? ` (+${n(j.robot_cpu_pct - dbase.robot_cpu_pct, 1)} over video alone)` : '';
  row(`depth channel, decimation ${j.decimation} at ${j.rate}/s${j.color ? ' with colour' : ''}: bandwidth; fps; age p50/p95; robot CPU`,
    `${n(j.kbytes_per_s)} KiB/s; ${n(j.fps, 1)}; ${n(j.age_p50_ms)}/${n(j.age_p95_ms)} ms; ${n(j.robot_cpu_pct, 1)}%${extra}`);
}
const builds = lines.filter((j) => j.bench === 'depth' && j.label === 'point cloud build');
if (builds.length) row('browser: point cloud build, coloured (decimation: ms)', builds.map((j) => `${j.decimation}: ${n(j.build_ms_p50, 1)}`).join(', '));
const tab = find((j) => j.bench === 'depth' && j.label === '3D tab');
if (tab) {
  row(`3D tab updates/s, 640x480 at decimation 2 (${tab.webgl})`, n(tab.updates_per_s, 1), '>= 15', verdict(tab.updates_per_s, 15, true));
  row(`  one draw of ${n(tab.points)} points on a ${tab.canvas?.join('x')} canvas`, `${n(tab.render_ms_p50, 1)} ms`);
}
const derr = find((j) => j.bench === 'depth' && j.error);
if (derr) row('depth bench error', derr.error);

const cfg = metric('config');
if (cfg && cfg.errors?.length) row('robot-latency errors', cfg.errors.join('; '));

const head = ['figure', 'value', 'target', 'status'];
const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => `| ${r.map((c, i) => String(c).padEnd(width[i])).join(' | ')} |`;
console.log(`Porthole benchmarks: ${cpus().length} cores, ${new Date().toISOString().slice(0, 16)}Z${seconds !== null ? `, ${seconds} s` : ''}`);
console.log(line(head));
console.log(`|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows) console.log(line(r));
if (!rows.length) console.log('(no results: see the messages above)');
