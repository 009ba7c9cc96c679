// The exchange as a sequence diagram (SVG): page → preflight → response →
// check → request → response → script, with the step that failed marked by
// ✗ and words, not only by colour.
'use strict';

(function () {
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));

  const hopOf = (url) => {
    const m = /\/run\/\d+\/(\d+)/.exec(url);
    return m ? Number(m[1]) : 0;
  };

  // The status answered to a request, as composed (raw headers) or as the
  // server answered it (a policy decides).
  function statusOf(c, request, report, policyMode) {
    const hop = hopOf(request.url);
    const preflight = request.leg === 'preflight';
    if (!policyMode) {
      const h = hop === 0 ? c : (c.redirects || [])[hop - 1] || {};
      const spec = preflight ? h.preflight_response : (hop === 0 ? c.response : h.response);
      if (spec) return String(spec.status);
    }
    const seen = report.arrivals.find((a) => a.hop === hop && a.preflight === preflight);
    return seen ? String(seen.status) : 'response';
  }

  function drawDiagram(c, v, report, policyMode) {
    const apiOrigin = new URL(c.request.url).origin;
    const lanes = [
      { x: 80, name: 'Page script' },
      { x: 290, name: 'Browser' },
      { x: 500, name: 'API origin', origin: apiOrigin },
    ];
    // One more lane for each other origin a redirect leads to.
    for (const r of v.requests) {
      const o = new URL(r.url).origin;
      if (lanes.some((l) => l.origin === o)) continue;
      const name = o === location.origin ? 'Page origin (server)' : 'Redirect origin';
      lanes.push({ x: lanes[lanes.length - 1].x + 200, name, origin: o });
    }
    const laneOf = (url) => lanes.findIndex((l) => l.origin === new URL(url).origin);
    const width = lanes[lanes.length - 1].x + 90;
    const rows = [];
    const failed = !v.allowed;
    const path = (url) => { const u = new URL(url); return u.pathname.replace(/^\/run\/\d+\/\d+/, '') + u.search || '/'; };
    rows.push({ from: 0, to: 1, text: `fetch(${c.request.method || 'GET'} ${path(c.request.url)})`,
      fail: failed && v.requests.length === 0, failText: 'fetch() throws before sending' });
    v.requests.forEach((r, i) => {
      const lane = laneOf(r.url);
      const last = i === v.requests.length - 1;
      const preflight = r.leg === 'preflight';
      rows.push({ from: 1, to: lane, text: preflight ? `OPTIONS preflight (${r.request_method})` : `${r.method} ${path(r.url)}` });
      rows.push({ from: lane, to: 1, text: statusOf(c, r, report, policyMode) });
      const fail = failed && last;
      let text = preflight ? 'check the preflight answer' : 'CORS check of the response';
      if (!last && !preflight) text = 'redirect: follow it';
      rows.push({ check: true, at: 1, text: `${fail ? '✗' : '✓'} ${text}`, fail, failText: 'failed here' });
    });
    const end = v.allowed
      ? '✓ the script gets the response'
      : v.js_error ? `✗ TypeError: ${v.js_error}` : '✗ TypeError: Failed to fetch';
    rows.push({ from: 1, to: 0, text: end, ok: v.allowed });

    const top = 50, step = 40;
    const height = top + rows.length * step + 20;
    const out = [];
    out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="dg-title dg-desc" class="sequence">`);
    const summary = rows.map((r) => r.text + (r.fail ? ` (${r.failText})` : '')).join('; ');
    out.push(`<title id="dg-title">Sequence of the exchange</title><desc id="dg-desc">${esc(summary)}</desc>`);
    out.push('<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="currentColor"/></marker></defs>');
    for (const l of lanes) {
      out.push(`<text x="${l.x}" y="22" text-anchor="middle" class="lane">${esc(l.name)}</text>`);
      out.push(`<line x1="${l.x}" y1="32" x2="${l.x}" y2="${height - 10}" class="life"/>`);
    }
    rows.forEach((r, i) => {
      const y = top + i * step + 14;
      if (r.check) {
        const x = lanes[r.at].x;
        const cls = r.fail ? 'check fail' : 'check';
        out.push(`<rect x="${x - 112}" y="${y - 16}" width="224" height="26" rx="4" class="${cls}"/>`);
        out.push(`<text x="${x}" y="${y + 2}" text-anchor="middle" class="${cls}">${esc(r.text)}</text>`);
        if (r.fail) out.push(`<text x="${x - 118}" y="${y + 2}" text-anchor="end" class="failnote">${esc(r.failText)} ▶</text>`);
        return;
      }
      const x1 = lanes[r.from].x, x2 = lanes[r.to].x;
      const cls = r.fail ? 'msg fail' : r.ok === false ? 'msg fail' : 'msg';
      out.push(`<line x1="${x1}" y1="${y}" x2="${x2 + (x2 > x1 ? -4 : 4)}" y2="${y}" class="${cls}" marker-end="url(#arrow)"/>`);
      out.push(`<text x="${(x1 + x2) / 2}" y="${y - 6}" text-anchor="middle" class="${cls}">${esc(r.text)}</text>`);
      if (r.fail) out.push(`<text x="${(x1 + x2) / 2}" y="${y + 16}" text-anchor="middle" class="failnote">✗ ${esc(r.failText)}</text>`);
    });
    out.push('</svg>');
    return out.join('');
  }

  window.drawDiagram = drawDiagram;
})();
