// The dashboard: the instance table and six charts, fed by the daemon's own API (same origin,
// signed in by the session cookie): /v1/events (SSE) for changes as they happen, and polling of
// /v1/instances, each live instance's /stats and /metrics once a second for the numbers.
'use strict';

const POINTS = 60;
const series = {};            // chart id -> array of numbers (the last POINTS samples)
const boots = [];             // boot times (ms) of the last boots seen
const seenBoot = new Set();   // "id:boots" already counted in boots
let last = null;              // previous poll's totals, for rates
let events = 0;

function push(id, value) {
  const s = series[id] || (series[id] = []);
  s.push(value);
  if (s.length > POINTS) s.shift();
  draw(id, s, 'line');
}

// A chart of our own on a canvas: a line (or bars), the latest value, the maximum as scale.
function draw(id, values, kind) {
  const c = document.getElementById(id);
  const g = c.getContext('2d');
  const w = c.width, h = c.height, pad = 16;
  g.clearRect(0, 0, w, h);
  g.strokeStyle = '#eee';
  g.beginPath(); g.moveTo(0, h - pad); g.lineTo(w, h - pad); g.stroke();
  const max = Math.max(1e-9, ...values);
  g.fillStyle = g.strokeStyle = '#2a6fdb';
  if (kind === 'bars') {
    const bw = w / Math.max(values.length, 1);
    values.forEach((v, i) => g.fillRect(i * bw + 1, h - pad - (v / max) * (h - 2 * pad), bw - 2, (v / max) * (h - 2 * pad)));
  } else {
    g.beginPath();
    values.forEach((v, i) => {
      const x = (i / (POINTS - 1)) * w, y = h - pad - (v / max) * (h - 2 * pad);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  }
  g.fillStyle = '#333';
  g.font = '11px sans-serif';
  const latest = values.length ? values[values.length - 1] : 0;
  g.fillText('now ' + fmt(latest) + '   max ' + fmt(max === 1e-9 ? 0 : max), 4, 11);
  c.dataset.points = String(values.length);
  c.dataset.latest = String(latest);
}

function fmt(v) {
  return v >= 100 ? v.toFixed(0) : v.toFixed(2);
}

async function api(method, path, body) {
  const r = await fetch(path, {
    method, credentials: 'same-origin',
    headers: Object.assign({'X-Kiln-UI': '1'}, body ? {'Content-Type': 'application/json'} : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  if (r.status === 401) { setStatus('not signed in: open the login URL the daemon printed'); throw new Error('401'); }
  const type = r.headers.get('Content-Type') || '';
  const data = type.startsWith('application/json') ? await r.json() : await r.text();
  if (!r.ok) { setStatus('error: ' + (data.error ? data.error.message : r.status)); throw new Error(String(r.status)); }
  return data;
}

function setStatus(text) {
  document.getElementById('status').textContent = text;
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function button(td, label, action) {
  const b = document.createElement('button');
  b.textContent = label;
  b.dataset.action = label;
  b.addEventListener('click', () => action().then(poll).catch(() => {}));
  td.appendChild(b);
}

function render(instances, stats) {
  const body = document.querySelector('#instances tbody');
  body.replaceChildren();
  for (const i of instances) {
    const s = stats[i.id];
    const tr = document.createElement('tr');
    tr.id = 'row-' + i.id;
    cell(tr, i.id);
    cell(tr, i.name || '-');
    cell(tr, i.image.name || i.image.sha256.slice(0, 12));
    cell(tr, i.state, 'state state-' + i.state);
    cell(tr, i.net ? i.net.address : '-');
    cell(tr, i.net && i.net.ports.length ? i.net.ports.join(', ') : '-');
    cell(tr, String(i.boots));
    cell(tr, s && s.boot ? fmt(bootMillis(s)) : '-');
    cell(tr, s && s.resident_bytes != null ? fmt(s.resident_bytes / 1048576) + ' MiB' : i.memory_mib + ' MiB');
    const td = cell(tr, '');
    const live = i.state === 'running' || i.state === 'paused';
    if (live) button(td, 'stop', () => api('POST', '/v1/instances/' + i.id + '/stop'));
    else button(td, 'start', () => api('POST', '/v1/instances/' + i.id + '/start'));
    if (live && !i.net) button(td, 'clone', () => api('POST', '/v1/instances/' + i.id + '/clone', {count: 1}));
    button(td, 'logs', () => showLogs(i.id));
    body.appendChild(tr);
  }
}

function bootMillis(s) {
  return (s.boot.create_ns + s.boot.load_ns + (s.boot.entry_to_main_ns || 0)) / 1e6;
}

async function showLogs(id) {
  document.getElementById('logs-of').textContent = 'of ' + id;
  document.getElementById('logs').textContent = await api('GET', '/v1/instances/' + id + '/logs');
}

async function poll() {
  const instances = await api('GET', '/v1/instances');
  const stats = {};
  await Promise.all(instances.filter(i => i.state === 'running' || i.state === 'paused').map(async i => {
    try { stats[i.id] = await api('GET', '/v1/instances/' + i.id + '/stats'); } catch (e) { /* ended meanwhile */ }
  }));
  const metrics = await api('GET', '/metrics');
  render(instances, stats);
  const now = performance.now();
  let exits = 0, resident = 0, consoleBytes = 0;
  for (const [id, s] of Object.entries(stats)) {
    exits += s.exits.total;
    resident += s.resident_bytes || 0;
    consoleBytes += s.console_bytes;
    const key = id + ':' + instances.find(i => i.id === id).boots;
    if (!seenBoot.has(key)) { seenBoot.add(key); boots.push(bootMillis(s)); if (boots.length > 30) boots.shift(); }
  }
  let requests = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith('kiln_api_requests_total{')) requests += Number(line.split(' ').pop());
  }
  const cur = {now, exits, consoleBytes, requests};
  const rate = (k) => last ? Math.max(0, (cur[k] - last[k]) / ((now - last.now) / 1000)) : 0;
  push('chart-live', instances.filter(i => i.state === 'running').length);
  push('chart-exits', rate('exits'));
  push('chart-memory', resident / 1048576);
  push('chart-console', rate('consoleBytes'));
  push('chart-requests', rate('requests'));
  draw('chart-boot', boots, 'bars');
  last = cur;
  setStatus(instances.length + ' instances, ' + events + ' events');
}

function listen() {
  const source = new EventSource('/v1/events');
  for (const type of ['created', 'started', 'paused', 'resumed', 'exited', 'stopped', 'deleted', 'slept']) {
    source.addEventListener(type, () => { events++; poll().catch(() => {}); });
  }
}

poll().catch(() => {});
setInterval(() => poll().catch(() => {}), 1000);
listen();
