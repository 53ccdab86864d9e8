/**
 * The console's only script and stylesheet, served from `/_agentgate/console/static/`
 * (`script-src 'self'`: no inline script anywhere). The script polls the pending
 * list and re-renders it with DOM text nodes only (never innerHTML).
 */
export const CONSOLE_JS = `'use strict';
(function () {
  var table = document.getElementById('pending');
  if (!table) return;
  var body = table.querySelector('tbody');
  var status = document.getElementById('pending-status');
  var base = table.getAttribute('data-base');
  var last = '';
  function cell(tr, text, href) {
    var td = document.createElement('td');
    if (href) {
      var a = document.createElement('a');
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text;
    }
    tr.appendChild(td);
  }
  function render(list) {
    var key = JSON.stringify(list);
    if (key === last) return;
    last = key;
    while (body.firstChild) body.removeChild(body.firstChild);
    list.forEach(function (p) {
      var tr = document.createElement('tr');
      cell(tr, p.kind, base + '/approvals/' + encodeURIComponent(p.id));
      cell(tr, p.summary);
      cell(tr, p.requester);
      cell(tr, p.rule || '');
      cell(tr, p.requestedAt);
      cell(tr, p.expiresAt);
      body.appendChild(tr);
    });
    status.textContent = list.length === 0 ? 'Nothing is waiting for a decision.' : list.length + ' action(s) waiting for a decision.';
  }
  function poll() {
    fetch(base + '/api/pending', { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) { if (j && Array.isArray(j.pending)) render(j.pending); })
      .catch(function () {})
      .then(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 2000);
})();
`;

export const CONSOLE_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bad: #a40e26; --ok: #116329; --warn: #7d4e00; --accent: #0550ae; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, sans-serif; color: var(--fg); margin: 0; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; border-bottom: 1px solid var(--line); flex-wrap: wrap; }
header nav a { margin-right: 1rem; }
header .who { margin-left: auto; color: var(--muted); }
main { padding: 1rem 1.2rem; max-width: 72rem; }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus { outline: 3px solid #0969da; outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
code, pre, .sha { font-family: ui-monospace, monospace; font-size: 13px; }
pre { background: #f6f8fa; padding: .6rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { color: var(--muted); }
dd { margin: 0; }
.lost { color: var(--bad); }
.added { color: var(--ok); }
.badge { display: inline-block; padding: 0 .4rem; border-radius: .3rem; border: 1px solid currentColor; font-size: 13px; }
.deny, .rejected, .expired, .failed { color: var(--bad); }
.held, .review, .pending { color: var(--warn); }
.approved, .completed, .allow { color: var(--ok); }
.notice { padding: .5rem .8rem; border-left: 4px solid var(--accent); background: #ddf4ff; }
.error { padding: .5rem .8rem; border-left: 4px solid var(--bad); background: #ffebe9; }
ol.timeline { list-style: none; padding: 0; border-left: 3px solid var(--line); margin-left: .6rem; }
ol.timeline > li { position: relative; padding: .2rem 0 .9rem 1.2rem; }
ol.timeline > li::before { content: ''; position: absolute; left: -.5rem; top: .55rem; width: .7rem; height: .7rem; border-radius: 50%; background: var(--line); }
ol.timeline > li.deny::before, ol.timeline > li.rejected::before { background: var(--bad); }
ol.timeline > li.held::before, ol.timeline > li.review::before { background: #bf8700; }
ol.timeline > li.completed::before, ol.timeline > li.approved::before { background: #1a7f37; }
.step-head { font-weight: 600; }
.masked { color: var(--bad); font-weight: 600; }
form.decide { display: grid; gap: .5rem; max-width: 36rem; margin-top: 1rem; }
form.decide .buttons { display: flex; gap: .8rem; }
button { font: inherit; padding: .35rem 1rem; border-radius: .4rem; border: 1px solid var(--line); background: #f6f8fa; cursor: pointer; }
button.approve { background: #1f883d; color: #fff; border-color: #1a7f37; }
button.reject { background: #cf222e; color: #fff; border-color: #a40e26; }
form.search { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: end; margin-bottom: 1rem; }
form.search label { display: grid; font-size: 13px; color: var(--muted); }
.muted { color: var(--muted); }
`;
