import type { AuditEvent, TrailStep } from '@agentgate/events';
import type { CommitSummary, RefChange } from '../adapters/types.js';
import type { ApprovalRecord } from '../approvals/record.js';
import { changeSummary } from '../approvals/summary.js';
import { type Html, html } from './html.js';
import type { ConsoleUser } from './session.js';

/** What every page needs to render its frame. */
export interface PageContext {
  base: string;
  user: ConsoleUser | undefined;
  csrf: string | undefined;
}

/** The page frame: header with navigation and the signed-in user, one `<main>`. */
export function layout(ctx: PageContext, title: string, body: Html): string {
  return `<!doctype html>${
    html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · agentgate</title>
<link rel="stylesheet" href="${ctx.base}/static/console.css">
<script src="${ctx.base}/static/console.js" defer></script>
</head>
<body>
<header>
<strong>agentgate</strong>
<nav aria-label="Console"><a href="${ctx.base}/">Pending approvals</a><a href="${ctx.base}/search">Search the trail</a></nav>
${
  ctx.user
    ? html`<span class="who">Signed in as <strong>${ctx.user.name}</strong></span>
<form method="post" action="${ctx.base}/logout"><input type="hidden" name="_csrf" value="${ctx.csrf}"><button type="submit">Sign out</button></form>`
    : ''
}
</header>
<main id="main">
${body}
</main>
</body>
</html>`.value
  }`;
}

/** A pending approval as the list (and its polling API) shows it. */
export interface PendingRow {
  id: string;
  kind: string;
  summary: string;
  requester: string;
  rule: string | null;
  requestedAt: string;
  expiresAt: string;
}

export function pendingRow(r: ApprovalRecord): PendingRow {
  const p = r.principal;
  return {
    id: r.id,
    kind: r.binding.kind,
    summary: changeSummary(r).join('; '),
    requester: p.ci.repository ? `${p.ci.repository} (${p.identity.actor ?? p.subject})` : p.subject,
    rule: r.rule,
    requestedAt: r.requestedAt,
    expiresAt: r.expiresAt,
  };
}

export function pendingPage(ctx: PageContext, rows: PendingRow[] | undefined): string {
  if (rows === undefined) {
    return layout(
      ctx,
      'Nothing to decide',
      html`<h1>Nothing to decide</h1>
<p class="notice" role="status">You are signed in, but none of your groups may approve actions (approvals.approverGroups). There is nothing for you to decide here.</p>`,
    );
  }
  return layout(
    ctx,
    'Pending approvals',
    html`<h1>Pending approvals</h1>
<p id="pending-status" role="status" aria-live="polite">${rows.length === 0 ? 'Nothing is waiting for a decision.' : `${rows.length} action(s) waiting for a decision.`}</p>
<table id="pending" data-base="${ctx.base}">
<caption class="muted">Updates by itself every few seconds.</caption>
<thead><tr><th scope="col">Action</th><th scope="col">What it changes</th><th scope="col">Requested by</th><th scope="col">Rule</th><th scope="col">Requested at</th><th scope="col">Expires at</th></tr></thead>
<tbody>${rows.map(
      (r) =>
        html`<tr><td><a href="${ctx.base}/approvals/${encodeURIComponent(r.id)}">${r.kind}</a></td><td>${r.summary}</td><td>${r.requester}</td><td>${r.rule ?? ''}</td><td>${r.requestedAt}</td><td>${r.expiresAt}</td></tr>`,
    )}</tbody>
</table>`,
  );
}

function commitList(list: readonly CommitSummary[], truncated: boolean, cls: string, label: string): Html {
  if (list.length === 0) return html`<p class="muted">${label}: none.</p>`;
  return html`<h4>${label} (${list.length}${truncated ? ' shown, more not listed' : ''})</h4>
<ul class="${cls}">${list.map((c) => html`<li><code class="sha">${c.sha.slice(0, 12)}</code> ${c.subject} <span class="muted">— ${c.author}, ${c.date}</span></li>`)}</ul>`;
}

function refChange(r: RefChange): Html {
  const d = r.diffstat;
  return html`<section aria-label="${r.ref}">
<h3><code>${r.ref}</code> <span class="badge ${r.kind === 'force-push' ? 'deny' : ''}">${r.kind}</span></h3>
<p><code class="sha">${r.old}</code> → <code class="sha">${r.new}</code></p>
${commitList(r.added, r.addedTruncated, 'added', 'Commits pushed')}
${r.lost.length > 0 ? commitList(r.lost, r.lostTruncated, 'lost', 'Commits that would be lost from the branch') : ''}
${
  d
    ? html`<h4>Diffstat: ${d.filesChanged} file(s) changed, +${d.insertions} −${d.deletions}</h4>
<table><thead><tr><th scope="col">File</th><th scope="col">Added</th><th scope="col">Deleted</th></tr></thead>
<tbody>${d.files.map((f) => html`<tr><td><code>${f.path}</code></td><td>${f.added ?? 'binary'}</td><td>${f.deleted ?? 'binary'}</td></tr>`)}</tbody></table>
${d.truncated ? html`<p class="muted">More files changed than are listed.</p>` : ''}`
    : ''
}
</section>`;
}

/** What the approval page knows about the session that proposed the action. */
export interface Proposal {
  held: TrailStep | undefined;
  exchange: TrailStep | undefined;
}

export function approvalPage(
  ctx: PageContext,
  rec: ApprovalRecord,
  opts: { proposal: Proposal; canDecide: boolean; why?: string; flash?: { ok: boolean; text: string } },
): string {
  const b = rec.binding;
  const req = b.request;
  const p = rec.principal;
  const pending = rec.status === 'pending' && Date.parse(rec.expiresAt) > Date.now();
  const ex = opts.proposal.exchange;
  return layout(
    ctx,
    `Approval ${rec.id}`,
    html`<h1>${b.kind} on ${rec.connection} <span class="badge ${rec.status}">${rec.status}</span></h1>
${opts.flash ? html`<p class="${opts.flash.ok ? 'notice' : 'error'}" role="status">${opts.flash.text}</p>` : ''}
<dl>
<dt>Approval id</dt><dd><code>${rec.id}</code></dd>
<dt>Rule</dt><dd>${rec.rule ?? 'none'}${rec.reason ? html` — ${rec.reason}` : ''}</dd>
<dt>Requested by</dt><dd>${p.subject}${p.ci.repository ? html` (repository ${p.ci.repository})` : ''}${
      Object.keys(p.identity).length > 0
        ? html` · ${Object.entries(p.identity)
            .map(([k, v]) => `${k}=${v}`)
            .join(', ')}`
        : ''
    }</dd>
<dt>Agent session</dt><dd><a href="${ctx.base}/session?id=${encodeURIComponent(p.sessionId)}">${p.sessionId}</a></dd>
<dt>Requested at</dt><dd>${rec.requestedAt}</dd>
<dt>Expires at</dt><dd>${rec.expiresAt}</dd>
<dt>Policy version</dt><dd><code class="sha">${rec.policyVersion}</code></dd>
<dt>Binding digest</dt><dd><code class="sha">${b.digest}</code></dd>
${rec.decidedBy ? html`<dt>Decided by</dt><dd>${rec.decidedBy.subject} at ${rec.decidedAt ?? ''}${rec.decisionReason ? html` — ${rec.decisionReason}` : ''}</dd>` : ''}
</dl>
<h2>The exact action</h2>
${
  req
    ? html`<pre aria-label="Request line and headers">${req.method} ${req.path}${req.query}
${Object.entries(req.headers).map(([k, v]) => `${k}: ${v}\n`)}</pre>`
    : ''
}
${b.body ? html`<p>Body: ${b.body.bytes} bytes, SHA-256 <code class="sha">${b.body.sha256}</code></p>` : html`<p>No body.</p>`}
${
  rec.preview && rec.preview.encoding === 'text'
    ? html`<h3>Body preview (masked${rec.preview.masked > 0 ? `, ${rec.preview.masked} value(s) hidden` : ''})</h3><pre>${rec.preview.text}${rec.preview.truncated ? '\n…' : ''}</pre>`
    : ''
}
${rec.details?.git ? html`<h2>What the push changes in ${rec.details.git.repo}</h2>${rec.details.git.refs.map(refChange)}` : ''}
${b.parts && !rec.details?.git ? html`<h3>Parts</h3><pre>${JSON.stringify(b.parts, null, 2)}</pre>` : ''}
<h2>Proposed by</h2>
${
  ex
    ? html`<p>Exchange <a href="${ctx.base}/session?id=${encodeURIComponent(p.sessionId)}#step-${ex.step}">step ${ex.step}</a>${ex.model ? html` with ${ex.model}` : ''}${opts.proposal.held?.link?.rule ? html` (${opts.proposal.held.link.rule})` : ''}.</p>
${ex.prompt ? html`<p>Prompt:</p><pre>${ex.prompt}</pre>` : ''}
${(ex.toolCalls ?? []).map((c) => html`<p>Tool call <code>${c.name}</code> [${c.id}]:</p><pre>${c.summary}</pre>`)}`
    : html`<p class="muted">No model exchange in the trail is linked to this action (yet).</p>`
}
<h2>Decision</h2>
${
  !pending
    ? html`<p>This approval is ${rec.status === 'pending' ? 'expired' : rec.status}; nothing to decide.</p>`
    : opts.canDecide
      ? html`<form class="decide" method="post" action="${ctx.base}/approvals/${encodeURIComponent(rec.id)}/decide">
<input type="hidden" name="_csrf" value="${ctx.csrf}">
<label for="reason">Reason (recorded in the trail)</label>
<textarea id="reason" name="reason" rows="2" maxlength="500"></textarea>
<div class="buttons"><button class="approve" type="submit" name="decision" value="approve">Approve</button><button class="reject" type="submit" name="decision" value="reject">Reject</button></div>
</form>`
      : html`<p class="notice" role="status">${opts.why ?? 'You cannot decide this approval.'}</p>`
}`,
  );
}

function stepClass(s: TrailStep): string {
  if (s.outcome === 'denied' || s.decision?.effect === 'deny') return 'deny';
  if (s.approval) return s.approval.status;
  if (s.decision?.effect === 'review') return 'held';
  return s.outcome;
}

function stepText(s: TrailStep): string {
  const d = s.decision;
  const rule = d?.rule ? ` (rule ${d.rule})` : '';
  if (s.outcome === 'denied' || d?.effect === 'deny') return `denied${rule}${d?.reason ? `: ${d.reason}` : ''}`;
  const status = s.status !== undefined ? ` ${s.status}` : '';
  if (d?.effect === 'review') {
    const a = s.approval;
    const decided = a && a.status !== 'pending' ? `, ${a.status}${a.approver ? ` by ${a.approver}` : ''}${a.reason ? ` (${a.reason})` : ''}` : ', waiting';
    return `held for approval${rule}${decided} → ${s.outcome}${status}`;
  }
  return `allowed${rule} → ${s.outcome}${status}`;
}

export function timelinePage(ctx: PageContext, sessionId: string, steps: TrailStep[]): string {
  return layout(
    ctx,
    `Session ${sessionId}`,
    html`<h1>Session timeline</h1>
<p><code>${sessionId}</code>: ${steps.length} step(s), oldest first.</p>
${steps.length === 0 ? html`<p class="muted">No events for this session.</p>` : ''}
<ol class="timeline">${steps.map(
      (s) => html`<li id="step-${s.step}" class="${stepClass(s)}">
<div class="step-head">${s.step}. ${s.kind === 'llm.exchange' ? `llm exchange${s.model ? ` ${s.model}` : ''}` : s.kind}${s.target ? html` <code>${s.target}</code>` : ''}</div>
<div class="muted">${s.at}${s.connection ? ` · ${s.connection}` : ''}</div>
<div>${stepText(s)}</div>
${s.prompt !== undefined ? html`<div>Prompt: <q>${s.prompt}</q></div>` : ''}
${(s.toolCalls ?? []).map((c) => html`<div>Tool call <code>${c.name}</code> [${c.id}]: <code>${c.summary}</code></div>`)}
${s.completion !== undefined && (s.toolCalls ?? []).length === 0 ? html`<div>Answer: <q>${s.completion}</q></div>` : ''}
${s.link ? html`<div>Proposed by <a href="#step-${s.link.exchangeStep ?? ''}">${s.link.exchangeStep !== undefined ? `step ${s.link.exchangeStep}` : `exchange ${s.link.exchangeId}`}</a>${s.link.toolCallId ? ` tool call ${s.link.toolCallId}` : ''} (${s.link.rule})</div>` : ''}
${s.approval ? html`<div>Approval <a href="${ctx.base}/approvals/${encodeURIComponent(s.approval.id)}">${s.approval.id}</a>: ${s.approval.status}${s.approval.approver ? ` by ${s.approval.approver}` : ''}</div>` : ''}
${s.masked ? html`<div class="masked">⚠ ${s.masked.count} secret(s) masked: ${s.masked.kinds.join(', ')}</div>` : ''}
${s.exposures ? html`<div class="masked">⚠ exposure of brokered secret(s): ${s.exposures.join(', ')}</div>` : ''}
</li>`,
    )}</ol>`,
  );
}

/** The search form's values, as submitted. */
export type SearchForm = Record<'repository' | 'principal' | 'rule' | 'decision' | 'from' | 'to', string>;

const DECISIONS = ['', 'allow', 'deny', 'review', 'held', 'approved', 'rejected', 'expired', 'denied', 'completed', 'failed'];

export function searchPage(ctx: PageContext, form: SearchForm, results: AuditEvent[] | undefined, error?: string): string {
  const field = (name: keyof SearchForm, label: string, type = 'text') =>
    html`<label for="f-${name}">${label}<input id="f-${name}" name="${name}" type="${type}" value="${form[name]}"></label>`;
  return layout(
    ctx,
    'Search the trail',
    html`<h1>Search the trail</h1>
<form class="search" method="get" action="${ctx.base}/search" role="search">
${field('repository', 'Repository')}${field('principal', 'Principal (subject)')}${field('rule', 'Rule')}
<label for="f-decision">Decision or phase<select id="f-decision" name="decision">${DECISIONS.map((d) => html`<option value="${d}"${d === form.decision ? html` selected` : ''}>${d === '' ? 'any' : d}</option>`)}</select></label>
${field('from', 'From (UTC)', 'datetime-local')}${field('to', 'To (UTC)', 'datetime-local')}
<button type="submit">Search</button>
</form>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
${
  results === undefined
    ? ''
    : html`<p role="status">${results.length} event(s), newest first.</p>
<table><thead><tr><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Phase</th><th scope="col">Decision</th><th scope="col">Principal</th><th scope="col">Session</th></tr></thead>
<tbody>${results.map((e) => {
        const a = e.agentgate;
        return html`<tr><td>${e['@timestamp']}</td><td>${e.event.action}${a.approval ? html` · <a href="${ctx.base}/approvals/${encodeURIComponent(a.approval.id)}">approval</a>` : ''}</td><td class="${a.action.phase}">${a.action.phase}</td><td>${a.decision?.effect ?? ''}${e.rule?.name ? ` (${e.rule.name})` : ''}</td><td>${e.user?.id ?? ''}${a.principal?.ci?.repository ? html`<br><span class="muted">${a.principal.ci.repository}</span>` : ''}</td><td><a href="${ctx.base}/session?id=${encodeURIComponent(a.session.id)}#step-1">timeline</a></td></tr>`;
      })}</tbody></table>`
}`,
  );
}

export function messagePage(ctx: PageContext, title: string, text: string, status: 'notice' | 'error' = 'notice'): string {
  return layout(ctx, title, html`<h1>${title}</h1><p class="${status}" role="${status === 'error' ? 'alert' : 'status'}">${text}</p>`);
}
