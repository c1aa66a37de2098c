// options.js - a tile's camera options panel: reads the robot's sensor
// options through the cloud (GET /api/devices/{serial}/sensors/) and sets
// them live (PUT .../sensors/{sensor_id}/options/{option_id} {"value": x}).
//
// Owns the DOM inside its <section class="options">; talks to the robot only
// through cloud.request() (porthole.js). Slider drags are throttled per
// option: one request in flight, at most one every SEND_INTERVAL_MS, and
// the last value is always sent. The panel never shows a value the robot
// did not confirm once the answers are in: a refused change snaps back.

const SEND_INTERVAL_MS = 100;
let nextId = 0;

const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
};
const finite = (v) => typeof v === 'number' && Number.isFinite(v);
const text = (v, max = 200) => (typeof v === 'string' ? v.slice(0, max) : '');

/** The detail sentence of an error answer, or a fallback naming the status. */
function detailOf(res) {
  const d = res.body && typeof res.body === 'object' ? res.body.detail : null;
  if (typeof d === 'string' && d) return d.slice(0, 500);
  return `the robot answered ${res.status}${d === undefined ? '' : ` ${JSON.stringify(d).slice(0, 200)}`}`;
}

/** Decimal places of a step (0.000001 -> 6), for showing values without float noise. */
function decimals(step) {
  if (!finite(step) || step <= 0 || Number.isInteger(step)) return 0;
  const s = String(step);
  const e = s.match(/e-(\d+)$/);
  if (e) return Number(e[1]) + ((s.split('e')[0].split('.')[1] || '').length);
  return (s.split('.')[1] || '').length;
}

/** value rounded to the option's step precision, as text. */
function show(value, info) {
  if (!finite(value)) return '';
  const d = decimals(info.step);
  return d ? String(Number(value.toFixed(Math.min(d, 20)))) : String(Math.round(value * 1e9) / 1e9);
}

/** An OptionInfo read defensively; null when it cannot be shown. */
function optionInfo(o) {
  if (!o || typeof o !== 'object' || typeof o.option_id !== 'string' || !o.option_id) return null;
  if (!finite(o.current_value)) return null;
  const min = finite(o.min_value) ? o.min_value : null;
  const max = finite(o.max_value) ? o.max_value : null;
  return {
    id: o.option_id.slice(0, 128),
    name: text(o.name) || o.option_id.slice(0, 128),
    description: text(o.description, 500),
    current: o.current_value,
    def: finite(o.default_value) ? o.default_value : null,
    min,
    max,
    step: finite(o.step) && o.step > 0 ? o.step : null,
    units: text(o.units, 32),
    readOnly: o.read_only === true || min === null || max === null || max < min,
  };
}

/** A SensorInfo read defensively; null when it cannot be shown. */
function sensorInfo(s) {
  if (!s || typeof s !== 'object' || typeof s.sensor_id !== 'string' || !s.sensor_id) return null;
  return {
    id: s.sensor_id.slice(0, 128),
    name: text(s.name) || s.sensor_id.slice(0, 128),
    options: (Array.isArray(s.options) ? s.options : []).map(optionInfo).filter(Boolean),
  };
}

const RESET_ICON = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 12a8 8 0 1 0 2.3-5.7M4 4v5h5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>';

/**
 * One option's row: its controls, what the robot last confirmed, and the
 * throttled sending of changes.
 */
class OptionRow {
  constructor(panel, sensor, info) {
    this.panel = panel;
    this.sensor = sensor;
    this.info = info;
    this.want = null;        // the value to send next, or null
    this.inflight = null;    // the value being sent, or null
    this.lastSentAt = 0;
    this.timer = null;
    const id = `opt-${++nextId}`;
    const boolish = info.min === 0 && info.max === 1 && info.step === 1;
    this.kind = boolish ? 'bool' : 'range';
    const units = info.units ? ` ${info.units}` : '';
    const label = el('label', { className: 'opt-name', htmlFor: id, textContent: info.name, title: info.description });
    const desc = el('span', { className: 'sr-only', id: `${id}-d`, textContent: info.description });
    this.msg = el('p', { className: 'opt-msg', id: `${id}-m`, hidden: true });
    this.msg.setAttribute('aria-live', 'polite');
    const describedBy = `${id}-d ${id}-m`;
    if (boolish) {
      this.input = el('input', { type: 'checkbox', id, className: 'opt-check' });
      this.state = el('span', { className: 'opt-state' });
      this.input.addEventListener('change', () => this.set(this.input.checked ? 1 : 0));
    } else {
      this.input = el('input', { type: 'range', id, className: 'opt-range' });
      this.input.min = String(info.min ?? 0);
      this.input.max = String(info.max ?? 0);
      this.input.step = info.step ? String(info.step) : 'any';
      this.number = el('input', { type: 'number', className: 'opt-number' });
      this.number.min = this.input.min;
      this.number.max = this.input.max;
      this.number.step = this.input.step;
      this.number.setAttribute('aria-label', `${info.name}${info.units ? ` in ${info.units}` : ''}`);
      this.number.setAttribute('aria-describedby', describedBy);
      this.input.addEventListener('input', () => {
        this.number.value = show(Number(this.input.value), info);
        this._valueText(Number(this.input.value));
        this.set(Number(this.input.value));
      });
      this.input.addEventListener('change', () => this.set(Number(this.input.value)));
      this.number.addEventListener('change', () => {
        const v = this.number.value.trim() === '' ? NaN : Number(this.number.value);
        if (!Number.isFinite(v)) {
          this.showValue(this.info.current);
          return;
        }
        this.input.value = String(v);
        this.set(v);
      });
    }
    this.input.setAttribute('aria-describedby', describedBy);
    const defText = info.def === null ? '' : `${show(info.def, info)}${units}`;
    this.reset = el('button', { type: 'button', className: 'icon opt-reset', innerHTML: RESET_ICON,
      title: info.def === null ? 'No default known' : `Reset to the default, ${defText}` });
    this.reset.setAttribute('aria-label', info.def === null ? `${info.name}: no default known`
      : `Reset ${info.name} to its default, ${defText}`);
    this.reset.addEventListener('click', () => { if (this.info.def !== null) this.set(this.info.def); });
    const value = boolish ? this.state
      : el('span', { className: 'opt-value' }, this.number, el('span', { className: 'opt-units', textContent: info.units }));
    this.el = el('div', { className: 'opt' }, label, this.input, value, this.reset, desc, this.msg);
    this.el.dataset.optionId = info.id;
    this.el.dataset.kind = this.kind;
    if (info.readOnly) this.el.dataset.readOnly = 'true';
    this.showValue(info.current);
    this.setEnabled(true);
  }

  /** Enables the controls (unless read-only) or disables them all. */
  setEnabled(on) {
    const can = on && !this.info.readOnly;
    this.input.disabled = !can;
    if (this.number) this.number.disabled = !can;
    this.reset.disabled = !can || this.info.def === null || this.info.current === this.info.def;
  }

  _valueText(v) {
    if (this.kind === 'range') this.input.setAttribute('aria-valuetext', `${show(v, this.info)}${this.info.units ? ` ${this.info.units}` : ''}`);
  }

  /** Shows v in the controls (what the robot confirmed, or what is being sent). */
  showValue(v) {
    if (this.kind === 'bool') {
      this.input.checked = v !== 0;
      this.state.textContent = v !== 0 ? 'on' : 'off';
    } else {
      this.input.value = String(v);
      this.number.value = show(v, this.info);
      this._valueText(v);
    }
    this.el.dataset.value = String(v);
  }

  setMessage(msg) {
    this.msg.hidden = !msg;
    this.msg.textContent = msg || '';
    this.el.dataset.error = msg ? 'true' : 'false';
  }

  /** Asks for value v: sent now, or once the request in flight is answered and the interval is over. */
  set(v) {
    if (!Number.isFinite(v) || this.info.readOnly) return;
    // Back to what the robot has, or to what is on its way: nothing more to send.
    if (this.inflight === null ? v === this.info.current : v === this.inflight) {
      this.want = null;
      return;
    }
    this.want = v;
    this._pump();
  }

  _pump() {
    if (this.inflight !== null || this.timer || this.want === null || this.panel.closed) return;
    const wait = this.lastSentAt + SEND_INTERVAL_MS - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => { this.timer = null; this._pump(); }, wait);
      return;
    }
    const v = this.want;
    this.want = null;
    this.inflight = v;
    this.lastSentAt = Date.now();
    this.el.setAttribute('aria-busy', 'true');
    const path = `${this.panel.sensorsPath()}${encodeURIComponent(this.sensor.id)}/options/${encodeURIComponent(this.info.id)}`;
    this.panel.request('PUT', path, { value: v }).then((res) => {
      if (res.ok) {
        const next = optionInfo(res.body);
        if (next && next.id === this.info.id) this.info.current = next.current;
        else this.info.current = v; // a 2xx without an OptionInfo: take the value as set
        this.setMessage(null);
      } else {
        this.setMessage(detailOf(res));
      }
    }, (err) => {
      this.setMessage(err.message);
    }).finally(() => {
      this.inflight = null;
      this.el.removeAttribute('aria-busy');
      if (this.panel.closed) return;
      // A newer value waits: keep showing it; otherwise show what the robot has now.
      if (this.want === null) this.showValue(this.info.current);
      this.setEnabled(this.panel.usable);
      this._pump();
    });
  }

  destroy() {
    clearTimeout(this.timer);
    this.timer = null;
    this.want = null;
  }
}

/**
 * The options panel of one robot's tile. root is the tile's
 * <section class="options"> (from index.html's template), toggle the button
 * that opens it. The panel loads when opened and again when the robot or the
 * cloud comes back.
 */
export class OptionsPanel {
  /**
   * @param {HTMLElement} root
   * @param {HTMLButtonElement} toggle
   * @param {import('./porthole.js').Cloud} cloud
   * @param {string} robotId
   */
  constructor(root, toggle, cloud, robotId) {
    this.root = root;
    this.toggleButton = toggle;
    this.cloud = cloud;
    this.robotId = robotId;
    this.closed = false;
    this.rows = [];
    this.loadSeq = 0;
    this.loaded = false;
    this.wasUnusable = false;
    this.status = root.querySelector('.options-status');
    this.body = root.querySelector('.options-body');
    this.reloadButton = root.querySelector('.options-reload');
    root.id = `options-${++nextId}`;
    toggle.setAttribute('aria-controls', root.id);
    toggle.setAttribute('aria-expanded', 'false');
    toggle.addEventListener('click', () => this.toggle());
    this.reloadButton.addEventListener('click', () => this.load());
  }

  get isOpen() { return !this.root.hidden; }

  /** The robot, as the cloud lists it (undefined before it was seen). */
  get robot() { return this.cloud?.robots.get(this.robotId); }

  /** True when requests can reach the robot: the cloud connected and the robot online. */
  get usable() { return Boolean(this.cloud && this.cloud.state === 'open' && this.robot?.online); }

  sensorsPath() {
    return `/api/devices/${encodeURIComponent(this.robot?.serial || '')}/sensors/`;
  }

  request(method, path, body) {
    return this.cloud.request(this.robotId, method, path, body);
  }

  toggle(open = !this.isOpen) {
    this.root.hidden = !open;
    this.toggleButton.setAttribute('aria-expanded', String(open));
    if (open) {
      this.root.scrollIntoView?.({ block: 'nearest' });
      this.load();
    } else {
      // Focus inside a hidden panel would be lost: give it back to the button.
      if (this.root.contains(document.activeElement)) this.toggleButton.focus();
    }
  }

  _setStatus(msg, kind = 'info') {
    // A live region that stays in the page (empty when there is nothing to say), so changes are announced.
    this.status.textContent = msg || '';
    this.status.dataset.kind = kind;
  }

  /** Why requests cannot be made now, as a sentence; null when they can. */
  _unusableReason() {
    const name = this.robotId;
    if (!this.cloud || this.cloud.state !== 'open') return 'Not connected to the cloud: the options are out of reach until it reconnects.';
    if (!this.robot?.online) return `${name} is offline: its options cannot be read or changed until it is back.`;
    if (!this.robot.serial) return `${name} reports no camera serial (deviceInfo.serial), so its camera options cannot be addressed.`;
    return null;
  }

  /** True when the panel can work now; otherwise says why and disables it. */
  _usable() {
    const why = this._unusableReason();
    if (!why) return true;
    this._setStatus(why, 'error');
    this._enable(false);
    this.wasUnusable = true;
    return false;
  }

  /** (Re)reads every sensor's options. */
  async load() {
    if (!this.isOpen || this.closed) return;
    if (!this._usable()) return;
    const seq = ++this.loadSeq;
    this._setStatus('Reading the options…');
    this.root.setAttribute('aria-busy', 'true');
    let msg = null;
    let sensors = null;
    try {
      const res = await this.request('GET', this.sensorsPath());
      if (!res.ok) msg = `Could not read the options: ${detailOf(res)}`;
      else if (!Array.isArray(res.body)) msg = 'Could not read the options: the robot\'s answer is not a list of sensors.';
      else sensors = res.body.map(sensorInfo).filter(Boolean);
    } catch (err) {
      msg = `Could not read the options: ${err.message}`;
    }
    if (seq !== this.loadSeq || this.closed) return;
    this.root.removeAttribute('aria-busy');
    if (msg) {
      this._setStatus(msg, 'error');
      this._enable(false);
      return;
    }
    this._render(sensors);
    this._enable(true);
    this.loaded = true;
    this._setStatus(sensors.length ? null : 'This camera has no sensors with options.');
  }

  _render(sensors) {
    // Keep focus where it was across a reload when the same control comes back.
    const focused = this.root.contains(document.activeElement) && document.activeElement.closest('.opt');
    const focusKey = focused ? `${focused.closest('.sensor')?.dataset.sensorId}/${focused.dataset.optionId}` : null;
    const focusClass = focused ? document.activeElement.className : null;
    for (const r of this.rows) r.destroy();
    this.rows = [];
    const sets = sensors.map((s) => {
      const rows = s.options.map((o) => new OptionRow(this, s, o));
      this.rows.push(...rows);
      const fs = el('fieldset', { className: 'sensor' }, el('legend', { textContent: s.name }),
        ...(rows.length ? rows.map((r) => r.el) : [el('p', { className: 'opt-none', textContent: 'No options.' })]));
      fs.dataset.sensorId = s.id;
      return fs;
    });
    this.body.replaceChildren(...sets);
    if (focusKey) {
      const [sid, oid] = focusKey.split('/');
      const row = this.rows.find((r) => r.sensor.id === sid && r.info.id === oid);
      const target = row && [...row.el.querySelectorAll('input, button')].find((e) => e.className === focusClass);
      target?.focus();
    }
  }

  _enable(on) {
    for (const r of this.rows) r.setEnabled(on);
    this.root.dataset.usable = String(on);
  }

  /** The cloud or the robot changed: say so, and reload once both are back. */
  refresh() {
    if (this.closed || !this.isOpen) return;
    if (!this._usable()) return;
    if (this.wasUnusable || !this.loaded) {
      this.wasUnusable = false;
      this.load();
    }
  }

  destroy() {
    this.closed = true;
    this.loadSeq++;
    for (const r of this.rows) r.destroy();
  }
}
