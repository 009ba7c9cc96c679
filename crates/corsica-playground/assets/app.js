// corsica playground: compose a case, run the real fetch, ask the server
// for corsica's prediction, and show both. Plain JavaScript, no build step.
'use strict';

const $ = (id) => document.getElementById(id);
const el = (tag, attrs, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  }
  return e;
};

const state = { case: null, mode: 'raw', policy: '', gallery: [] };

// ---- The URL fragment: #case=<base64url JSON>&policy=<base64url TOML>&run=1

function b64urlEncode(text) {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function b64urlDecode(s) {
  let b = s.replace(/-/g, '+').replace(/_/g, '/');
  while (b.length % 4) b += '=';
  return new TextDecoder().decode(Uint8Array.from(atob(b), (c) => c.charCodeAt(0)));
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const out = { run: Number(params.get('run')) || 0 };
  if (params.get('case')) out.case = JSON.parse(b64urlDecode(params.get('case')));
  if (params.get('policy')) out.policy = b64urlDecode(params.get('policy'));
  return out;
}

function hashFor() {
  let h = 'case=' + b64urlEncode(JSON.stringify(state.case));
  if (state.mode === 'policy') h += '&policy=' + b64urlEncode(state.policy);
  return '#' + h;
}

function saveHash() {
  history.replaceState(null, '', location.pathname + location.search + hashFor());
}

// ---- Headers as text: one `name: value` a line.

const headersToText = (list) => (list || []).map(([n, v]) => `${n}: ${v}`).join('\n');

function textToHeaders(text) {
  return text.split('\n').filter((l) => l.trim() !== '').map((line) => {
    const i = line.indexOf(':');
    if (i < 0) return [line.trim(), ''];
    let value = line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    return [line.slice(0, i).trim(), value];
  });
}

// ---- The form, from and to the state.

function fillForm() {
  const c = state.case;
  const r = c.request || (c.request = { url: '/' });
  $('method').value = r.method || 'GET';
  $('path').value = r.url || '';
  $('credentials').value = r.credentials || 'same-origin';
  $('req-headers').value = headersToText(r.headers);
  $('read-headers').value = (r.read_headers || []).join(', ');
  $('pf-status').value = c.preflight_response ? c.preflight_response.status : '';
  $('pf-headers').value = c.preflight_response ? headersToText(c.preflight_response.headers) : '';
  $('rs-status').value = c.response ? c.response.status : '';
  $('rs-headers').value = c.response ? headersToText(c.response.headers) : '';
  $('policy').value = state.policy;
  $('mode-raw').checked = state.mode === 'raw';
  $('mode-policy').checked = state.mode === 'policy';
  showMode();
  fillJson();
}

function fillJson() {
  $('case-json').value = JSON.stringify(state.case, null, 2);
  $('case-json-error').textContent = '';
}

function showMode() {
  $('policy-editor').hidden = state.mode !== 'policy';
  $('pf-status').closest('.row').hidden = state.mode === 'policy';
  $('pf-headers').closest('.row').hidden = state.mode === 'policy';
  if (state.mode === 'policy') lintSoon();
}

function response(statusId, headersId) {
  const status = $(statusId).value.trim();
  if (status === '') return undefined;
  return { status: Number(status) || 0, headers: textToHeaders($(headersId).value) };
}

const bindings = {
  method: () => { state.case.request.method = $('method').value; },
  path: () => { state.case.request.url = $('path').value; },
  credentials: () => { state.case.request.credentials = $('credentials').value; },
  'req-headers': () => { state.case.request.headers = textToHeaders($('req-headers').value); },
  'read-headers': () => {
    state.case.request.read_headers = $('read-headers').value.split(',').map((s) => s.trim()).filter(Boolean);
  },
  'pf-status': () => setResponse('preflight_response', 'pf-status', 'pf-headers'),
  'pf-headers': () => setResponse('preflight_response', 'pf-status', 'pf-headers'),
  'rs-status': () => setResponse('response', 'rs-status', 'rs-headers'),
  'rs-headers': () => setResponse('response', 'rs-status', 'rs-headers'),
  policy: () => { state.policy = $('policy').value; lintSoon(); },
};

function setResponse(key, statusId, headersId) {
  const r = response(statusId, headersId);
  if (r) state.case[key] = r; else delete state.case[key];
}

function bindForm() {
  for (const [id, apply] of Object.entries(bindings)) {
    $(id).addEventListener('input', () => { apply(); fillJson(); saveHash(); });
  }
  for (const radio of document.querySelectorAll('input[name=mode]')) {
    radio.addEventListener('change', () => { state.mode = radio.value; showMode(); saveHash(); });
  }
  $('case-json').addEventListener('input', () => {
    try {
      const c = JSON.parse($('case-json').value);
      if (!c || typeof c !== 'object' || !c.request) throw new Error('a case needs a "request"');
      state.case = c;
      const keep = $('case-json').value;
      fillForm();
      $('case-json').value = keep;
      saveHash();
    } catch (e) {
      $('case-json-error').textContent = '✗ Not applied: ' + e.message;
    }
  });
  $('scenario').addEventListener('change', () => loadScenario($('scenario').value));
  $('run').addEventListener('click', run);
  $('again').addEventListener('click', runAgain);
  $('copy-link').addEventListener('click', () => copy(location.href.replace(/#.*$/, '') + hashFor(), 'Link copied.'));
  window.addEventListener('hashchange', () => startFromHash());
}

function loadScenario(id) {
  const s = state.gallery.find((g) => g.id === id);
  if (!s) return;
  state.case = JSON.parse(JSON.stringify(s.case));
  state.mode = s.policy ? 'policy' : 'raw';
  state.policy = s.policy || state.policy || defaultPolicy();
  $('scenario').value = id;
  $('scenario-explanation').textContent = s.explanation;
  fillForm();
  saveHash();
}

const defaultPolicy = () => 'origins = ["{origin}"]\n';

// ---- Talking to the page origin.

async function postJSON(path, body) {
  const r = await fetch(path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  const value = await r.json();
  if (!r.ok) throw new Error(value.error || r.statusText);
  return value;
}

const concretePolicy = () => state.policy.split('{origin}').join(location.origin);

let lintTimer = null;
function lintSoon() {
  clearTimeout(lintTimer);
  lintTimer = setTimeout(lint, 200);
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const counts = (r) => ` (${plural(r.errors, 'error')}, ${plural(r.warnings, 'warning')})`;

async function lint() {
  const box = $('lint');
  let report;
  try { report = await postJSON('/lint', concretePolicy()); } catch (e) { box.textContent = e.message; return; }
  box.replaceChildren();
  const head = report.valid
    ? el('p', { class: 'ok' }, '✓ Valid policy', counts(report))
    : el('p', { class: 'bad' }, '✗ Invalid policy', counts(report));
  box.append(head);
  if (report.diagnostics.length) {
    box.append(el('ul', { class: 'diagnostics' }, report.diagnostics.map((d) => el('li', { class: d.severity },
      el('strong', {}, `${d.severity === 'error' ? '✗ error' : '! warning'}[${d.code}]`),
      d.line ? ` line ${d.line}, column ${d.column}` : '',
      d.key ? ` (${d.key})` : '', ': ', d.reason,
      el('br'), el('span', { class: 'fixline' }, 'fix: ', d.fix)))));
  }
}

// ---- The browser engine, recognised from the page.

function detectProfile() {
  const ua = navigator.userAgent;
  if (/Firefox\//.test(ua)) return 'firefox';
  if (/Chrome\/|Chromium\/|Edg\//.test(ua)) return 'chromium';
  if (/AppleWebKit\//.test(ua)) return 'webkit';
  return 'chromium';
}
const PROFILE_NAMES = { chromium: 'Chromium', firefox: 'Firefox', webkit: 'WebKit' };

// ---- Run.

async function realFetch(r) {
  try {
    const resp = await fetch(r.url, { method: r.method, headers: r.headers, credentials: r.credentials });
    const headers = {};
    for (const n of r.read_headers || []) headers[n] = resp.headers.get(n);
    try { await resp.arrayBuffer(); } catch (_) { /* the body does not matter */ }
    return { allowed: true, status: resp.status, headers };
  } catch (e) {
    return { allowed: false, error: String(e) };
  }
}

let running = false;
let last = null; // The last run: its concrete case, for a second fetch.

function begin(text) {
  const box = $('verdict');
  for (const a of ['data-predicted', 'data-observed', 'data-agree', 'data-error', 'data-fetch']) box.removeAttribute(a);
  box.setAttribute('aria-busy', 'true');
  $('status').textContent = text;
  $('run').disabled = true;
  $('again').disabled = true;
}

function end() {
  $('verdict').removeAttribute('aria-busy');
  $('run').disabled = false;
  $('again').disabled = false;
  running = false;
}

async function run() {
  if (running) return;
  running = true;
  begin('Running…');
  $('again').hidden = true;
  last = null;
  try {
    const policy = state.mode === 'policy' ? concretePolicy() : null;
    const made = await postJSON('/runs', { origin: location.origin, case: state.case, policy });
    const c = made.case;
    const started = Date.now();
    const observed = await realFetch(c.request);
    const profile = detectProfile();
    const [verdict, report] = await Promise.all([
      postJSON('/simulate', { case: c, profile, policy }),
      fetch('/runs/' + made.id).then((r) => r.json()),
    ]);
    last = { id: made.id, c, policy, profile, started, seen: report.arrivals.length };
    show(c, observed, verdict, report, profile, policy, 1);
    $('again').hidden = false;
  } catch (e) {
    $('verdict').setAttribute('data-error', e.message);
    $('status').textContent = '✗ Could not run: ' + e.message;
  } finally {
    end();
  }
}

// The same fetch again, to the same URL: what the preflight cache changes.
async function runAgain() {
  if (running || !last) return;
  running = true;
  begin('Running the same fetch again…');
  try {
    const { c, policy, profile } = last;
    const observed = await realFetch(c.request);
    const after = Math.floor((Date.now() - last.started) / 1000);
    const [verdict, report] = await Promise.all([
      postJSON('/simulate', { case: c, profile, policy, repeat_after: after }),
      fetch('/runs/' + last.id).then((r) => r.json()),
    ]);
    const arrivals = report.arrivals.slice(last.seen);
    last.seen = report.arrivals.length;
    show(c, observed, verdict, { arrivals, problems: report.problems }, profile, policy, 2, after);
  } catch (e) {
    $('verdict').setAttribute('data-error', e.message);
    $('status').textContent = '✗ Could not run: ' + e.message;
  } finally {
    end();
  }
}

const word = (allowed) => (allowed ? 'allowed' : 'blocked');
const mark = (ok) => (ok ? '✓' : '✗');

/// Where reality and the prediction differ, in words (empty: they agree).
function differences(observed, verdict, report) {
  const out = [];
  if (observed.allowed !== verdict.allowed) {
    out.push(`the browser ${word(observed.allowed)} the request; corsica predicted ${word(verdict.allowed)}`);
  }
  const preflighted = report.arrivals.some((a) => a.preflight);
  if (preflighted !== verdict.preflight) {
    out.push(`a preflight ${preflighted ? 'reached' : 'did not reach'} the server; corsica predicted ${verdict.preflight ? 'one' : 'none'}`);
  }
  if (observed.allowed && verdict.allowed) {
    for (const [n, v] of Object.entries(observed.headers)) {
      const p = verdict.readable_headers[n];
      if ((p === undefined ? null : p) !== v) out.push(`headers.get("${n}") gave ${JSON.stringify(v)}; corsica predicted ${JSON.stringify(p)}`);
    }
  }
  return out;
}

function show(c, observed, verdict, report, profile, policy, nth, after) {
  const box = $('verdict');
  const diffs = differences(observed, verdict, report);
  box.setAttribute('data-predicted', word(verdict.allowed));
  box.setAttribute('data-observed', word(observed.allowed));
  box.setAttribute('data-agree', String(diffs.length === 0));
  box.setAttribute('data-fetch', String(nth));
  const which = nth === 1 ? '' : ` (the same fetch again, ${after} s later: a cached preflight is not sent again)`;
  $('status').textContent = `${mark(observed.allowed)} The browser ${word(observed.allowed)} the request; corsica predicted ${word(verdict.allowed)} for ${PROFILE_NAMES[profile]}${which}.`;
  const agreement = $('agreement');
  agreement.replaceChildren();
  if (diffs.length === 0) {
    agreement.append(el('p', { class: 'agree' }, '✓ The prediction matches what the browser did.'));
  } else {
    const caseJson = JSON.stringify(c, null, 2);
    agreement.append(el('div', { class: 'disagree', role: 'alert' },
      el('p', {}, el('strong', {}, '✗ The prediction and reality disagree'), ' — please report it with the case below.'),
      el('ul', {}, diffs.map((d) => el('li', {}, d))),
      el('button', { type: 'button', id: 'copy-case' }, 'Copy as case JSON')));
    $('copy-case').addEventListener('click', () => copy(caseJson, 'Case JSON copied.'));
  }
  showReality(observed, report);
  showPrediction(verdict, profile);
  $('diagram').querySelector('.svg').innerHTML = window.drawDiagram(c, verdict, report, policy !== null);
  showConsole(verdict);
  showFix(verdict);
}

function headerList(list) {
  return el('ul', { class: 'headers' }, list.map(([n, v]) => el('li', {}, el('code', {}, `${n}: ${v}`))));
}

function showReality(observed, report) {
  const body = $('reality').querySelector('.body');
  body.replaceChildren(el('p', { class: observed.allowed ? 'ok' : 'bad' },
    el('strong', {}, `${mark(observed.allowed)} ${word(observed.allowed).toUpperCase()}`),
    observed.allowed ? ` — the script got the response, status ${observed.status}` : ` — fetch() rejected: ${observed.error}`));
  if (observed.allowed && Object.keys(observed.headers).length) {
    body.append(el('p', {}, 'The script read:'), el('ul', { class: 'headers' },
      Object.entries(observed.headers).map(([n, v]) => el('li', {}, el('code', {}, `headers.get("${n}") → ${JSON.stringify(v)}`)))));
  }
  if (!observed.allowed) body.append(el('p', { class: 'hint' }, 'A script never learns why; the console message (below, as corsica predicts it) says.'));
  body.append(el('p', {}, report.arrivals.length
    ? `What reached the server (${report.arrivals.length} request${report.arrivals.length === 1 ? '' : 's'}):`
    : 'Nothing reached the server.'));
  const list = el('ol', { class: 'arrivals' });
  for (const a of report.arrivals) {
    list.append(el('li', {},
      el('p', {}, el('strong', {}, `${a.method} ${a.path}`), a.preflight ? ' — the preflight' : ' — the request', ` (${a.at} origin)`),
      el('details', {}, el('summary', {}, 'request headers'), headerList(a.headers)),
      el('p', {}, `answered ${a.status}`),
      headerList(a.response_headers)));
  }
  if (report.arrivals.length) body.append(list);
  for (const p of report.problems) body.append(el('p', { class: 'bad' }, '! ' + p));
}

function showPrediction(v, profile) {
  $('prediction-title').textContent = `corsica's prediction for ${PROFILE_NAMES[profile]}`;
  const body = $('prediction').querySelector('.body');
  body.replaceChildren(el('p', { class: v.allowed ? 'ok' : 'bad' },
    el('strong', {}, `${mark(v.allowed)} ${word(v.allowed).toUpperCase()}`),
    v.cors_error ? ` — ${v.cors_error}${v.failed_parameter ? ` (failed parameter: "${v.failed_parameter}")` : ''}` : '',
    v.js_error ? ` — fetch() throws TypeError: ${v.js_error}` : '',
    v.network_error ? ` — network error: ${v.network_error}` : ''));
  const names = Object.keys(v.readable_headers || {});
  if (v.allowed && names.length) {
    body.append(el('p', {}, 'The script would read:'), el('ul', { class: 'headers' },
      names.map((n) => el('li', {}, el('code', {}, `headers.get("${n}") → ${JSON.stringify(v.readable_headers[n])}`)))));
  }
  body.append(el('p', {}, v.requests.length
    ? `What reaches the server (${v.requests.length} request${v.requests.length === 1 ? '' : 's'}):`
    : 'Nothing reaches the server.'));
  if (v.requests.length) {
    body.append(el('ol', { class: 'arrivals' }, v.requests.map((r) => {
      const u = new URL(r.url);
      const lines = [];
      if (r.origin !== null) lines.push(['origin', r.origin]);
      if (r.request_method) lines.push(['access-control-request-method', r.request_method]);
      if (r.request_headers) lines.push(['access-control-request-headers', r.request_headers]);
      return el('li', {},
        el('p', {}, el('strong', {}, `${r.method} ${u.pathname}${u.search}`),
          r.leg === 'preflight' ? ' — the preflight' : ' — the request',
          r.credentials ? ', with cookies' : ', without cookies'),
        headerList(lines));
    })));
  }
  $('trace').querySelector('.body').replaceChildren(el('ol', { class: 'trace' }, v.trace.map((t) => el('li',
    { class: t.ok === false ? 'bad' : t.ok ? 'ok' : '' },
    el('span', { class: 'stage' }, `${t.ok === true ? '✓' : t.ok === false ? '✗' : '·'} ${t.stage}`), ' ', t.text))));
}

function showConsole(v) {
  const body = $('console').querySelector('.body');
  const message = v.console_message || (v.js_error ? `TypeError: ${v.js_error}` : null);
  body.replaceChildren(message
    ? el('pre', { class: 'console' }, message)
    : el('p', {}, '✓ Nothing: the browser reports no CORS error.'));
}

function showFix(v) {
  const f = v.fix;
  const body = $('fix').querySelector('.body');
  body.replaceChildren(el('p', {}, f.summary));
  // As `corsica explain` prints it: the headers only when something is owed.
  const owed = !v.allowed || !f.summary.startsWith('Nothing to fix');
  if (owed && v.preflight && f.preflight_headers.length) {
    body.append(el('p', {}, 'The preflight (OPTIONS) response must carry:'), headerList(f.preflight_headers));
  }
  if (owed && f.response_headers.length) body.append(el('p', {}, 'The response must carry:'), headerList(f.response_headers));
  body.append(el('p', {}, 'The corsica policy that does exactly this:'), el('pre', { class: 'policy' }, f.policy));
  const usePolicy = el('button', { type: 'button' }, 'Use this policy');
  usePolicy.addEventListener('click', () => {
    state.policy = f.policy.split(location.origin).join('{origin}');
    state.mode = 'policy';
    fillForm();
    saveHash();
    $('policy').focus();
  });
  const useHeaders = el('button', { type: 'button' }, 'Use these headers');
  useHeaders.addEventListener('click', () => {
    const mine = (v) => v.split(location.origin).join('{origin}');
    const merge = (spec, add, status) => {
      const out = spec ? { status: spec.status, headers: [...spec.headers] } : { status, headers: [] };
      for (const [n, v] of add) {
        out.headers = out.headers.filter(([m]) => m.toLowerCase() !== n.toLowerCase());
        out.headers.push([n.toLowerCase(), mine(v)]);
      }
      return out;
    };
    if (v.preflight && f.preflight_headers.length) {
      state.case.preflight_response = merge(state.case.preflight_response, f.preflight_headers, 204);
    }
    if (f.response_headers.length) state.case.response = merge(state.case.response, f.response_headers, 200);
    state.mode = 'raw';
    fillForm();
    saveHash();
    $('pf-headers').focus();
  });
  body.append(el('div', { class: 'actions' }, owed ? useHeaders : null, usePolicy));
  body.append(el('p', { class: 'hint' }, 'nginx, Envoy, Caddy and HAProxy snippets will appear here once `corsica export` exists.'));
}

async function copy(text, done) {
  try {
    await navigator.clipboard.writeText(text);
    $('copied').textContent = done;
  } catch (_) {
    window.prompt('Copy this:', text);
  }
}

// ---- Start.

function startFromHash() {
  let from;
  try { from = readHash(); } catch (e) { $('status').textContent = '✗ The link\'s #case is not valid: ' + e.message; return; }
  if (from.case) {
    state.case = from.case;
    state.mode = from.policy !== undefined ? 'policy' : 'raw';
    state.policy = from.policy !== undefined ? from.policy : defaultPolicy();
    const known = state.gallery.find((g) => g.id === state.case.id);
    $('scenario').value = known ? known.id : '';
    $('scenario-explanation').textContent = known ? known.explanation : 'A case from the link.';
    fillForm();
  } else if (!state.case) {
    loadScenario(state.gallery[0].id);
  }
  if (from.run) run().then(() => (from.run >= 2 ? runAgain() : null));
}

async function start() {
  state.gallery = await (await fetch('/gallery.json')).json();
  const select = $('scenario');
  select.append(el('option', { value: '' }, '(your own case)'));
  for (const s of state.gallery) select.append(el('option', { value: s.id }, s.title));
  bindForm();
  startFromHash();
}

start();
