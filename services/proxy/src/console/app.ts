import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '@agentgate/config';

type ConsoleConfig = NonNullable<Config['console']>;
import { buildTrail } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { decideApproval } from '../approvals/decide.js';
import { checkSameHuman } from '../approvals/four-eyes.js';
import type { Approvals } from '../approvals/hold.js';
import type { OwnSecrets } from '../approvals/own-secrets.js';
import { ProxyError } from '../errors.js';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import { LoginError, ConsoleOidc } from './oidc.js';
import { type ConsoleUser, CookieSealer, cookieOf, type LoginState } from './session.js';
import type { TrailReader } from './trail.js';
import { approvalPage, messagePage, type PageContext, pendingPage, pendingRow, type Proposal, type SearchForm, searchPage, timelinePage } from './views.js';

/** The console's path under the gateway's reserved admin prefix. */
export const CONSOLE_PATH = '/_agentgate/console';
const SESSION_COOKIE = 'agentgate_console';
const LOGIN_COOKIE = 'agentgate_console_login';
const ID = /^[A-Za-z0-9_-]{1,128}$/;
const SEARCH_LIMIT = 200;
/** The console's forms: small, flat, url-encoded. */
const FORM = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 });

/** What the console is built from (once per proxy). */
export interface ConsoleDeps {
  config: ConsoleConfig;
  approvals: Approvals;
  secrets: OwnSecrets;
  trail: TrailReader;
  log: Logger;
}

interface Locals {
  user?: ConsoleUser;
  csrf?: string;
}

/** What every route of the console reads: its dependencies, the cookie sealer, the OIDC client and where it is served. */
interface ConsoleContext {
  readonly deps: ConsoleDeps;
  readonly sealer: CookieSealer;
  readonly oidc: ConsoleOidc;
  /** The console's origin, as the browser reaches it (from `redirectUrl`): what the CSRF check expects. */
  readonly origin: string;
  /** Cookies are Secure over https. */
  readonly secure: boolean;
  readonly issuerOrigin: string;
}

type Handler = (req: Request, res: Response, next: NextFunction) => void;

/**
 * The approvers' console: an express app (the data path stays on node:http
 * + undici) served under `/_agentgate/console`. Login with OIDC (code +
 * PKCE), a stateless HMAC-signed session cookie (HttpOnly, SameSite=Strict,
 * Secure over https), a CSRF token and an Origin check on every POST,
 * approvers authorised by `approvals.approverGroups`, four eyes as in the
 * REST API. Every page is escaped HTML under a strict CSP (no inline script).
 */
export async function createConsole(deps: ConsoleDeps): Promise<(req: IncomingMessage, res: ServerResponse) => void> {
  const { config } = deps;
  // Without a configured key the sessions live as long as this process (documented): never a fixed default key.
  const key = config.sessionSecretRef ? Buffer.from(await deps.secrets(config.sessionSecretRef), 'utf8') : randomBytes(32);
  const redirect = new URL(config.redirectUrl);
  const cx: ConsoleContext = {
    deps,
    sealer: new CookieSealer(key),
    oidc: new ConsoleOidc(config, deps.secrets),
    origin: redirect.origin,
    secure: redirect.protocol === 'https:',
    issuerOrigin: new URL(config.issuer).origin,
  };
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(securityHeaders(cx));
  app.use(signedInUser(cx));
  staticRoutes(app);
  loginRoutes(app, cx);
  pendingRoutes(app, cx);
  approvalRoutes(app, cx);
  trailRoutes(app, cx);
  app.use((_req: Request, res: Response) => {
    page(res, 404, messagePage(ctx(res), 'Not found', 'There is no such console page.', 'error'));
  });
  app.use(errorHandler(deps.log));
  return (req, res) => {
    app(req as Request, res as Response, () => {});
  };
}

/** A strict CSP (no inline script; forms post only here and to the IdP), no framing, no caching. */
function securityHeaders(cx: ConsoleContext): Handler {
  return (_req, res, next) => {
    res.set({
      'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self' ${cx.issuerOrigin}; base-uri 'none'; frame-ancestors 'none'`,
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      // same-origin (not no-referrer): browsers then send Origin on our own POSTs, which the CSRF check reads.
      'referrer-policy': 'same-origin',
      'cache-control': 'no-store',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
    });
    next();
  };
}

/** Who is signed in (if anyone), and their CSRF token, into `res.locals`. */
function signedInUser(cx: ConsoleContext): Handler {
  return (req, res, next) => {
    const user = cx.sealer.open<ConsoleUser>(cookieOf(req.headers.cookie, SESSION_COOKIE), 'session');
    const locals = res.locals as Locals;
    if (user) {
      locals.user = user;
      locals.csrf = cx.sealer.csrfToken(user.sid);
    }
    next();
  };
}

function cookie(cx: ConsoleContext, name: string, value: string, maxAgeMs: number, sameSite: 'Strict' | 'Lax'): string {
  return `${name}=${value}; Path=${CONSOLE_PATH}; HttpOnly; SameSite=${sameSite}; Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}${cx.secure ? '; Secure' : ''}`;
}

function ctx(res: Response): PageContext {
  const l = res.locals as Locals;
  return { base: CONSOLE_PATH, user: l.user, csrf: l.csrf };
}

function page(res: Response, status: number, body: string): void {
  res.status(status).type('html').send(body);
}

function userOf(res: Response): ConsoleUser {
  return (res.locals as Locals).user as ConsoleUser;
}

function isApprover(cx: ConsoleContext, u: ConsoleUser): boolean {
  return u.groups.some((g) => cx.deps.approvals.config.approverGroups.includes(g));
}

/** An async route whose rejection goes to the error handler. */
function safe(fn: (req: Request, res: Response) => Promise<void>): Handler {
  return (req, res, next) => {
    fn(req, res).catch(next);
  };
}

function staticRoutes(app: Express): void {
  const base = CONSOLE_PATH;
  app.get(`${base}/static/console.js`, (_req, res) => {
    res.type('text/javascript').set('cache-control', 'public, max-age=300').send(CONSOLE_JS);
  });
  app.get(`${base}/static/console.css`, (_req, res) => {
    res.type('text/css').set('cache-control', 'public, max-age=300').send(CONSOLE_CSS);
  });
}

/** OIDC login (code + PKCE) and its callback, logout. */
function loginRoutes(app: Express, cx: ConsoleContext): void {
  const base = CONSOLE_PATH;
  const { config, log } = cx.deps;
  app.get(
    `${base}/login`,
    safe(async (req, res) => {
      const asked = typeof req.query.returnTo === 'string' ? req.query.returnTo : '';
      // Only a console path: never an open redirect to another site.
      const returnTo = asked.startsWith(`${base}/`) && !asked.startsWith('//') && !asked.includes('\\') ? asked : `${base}/`;
      const { url, state } = await cx.oidc.start(returnTo);
      // Lax, not Strict: the IdP's redirect back is a cross-site navigation, which must still carry the login state.
      res.set('set-cookie', cookie(cx, LOGIN_COOKIE, cx.sealer.seal(state, 'login'), 10 * 60_000, 'Lax'));
      res.redirect(303, url);
    }),
  );
  app.get(
    `${base}/callback`,
    safe(async (req, res) => {
      const st = cx.sealer.open<LoginState>(cookieOf(req.headers.cookie, LOGIN_COOKIE), 'login');
      if (!st) throw new LoginError('the login expired or was started elsewhere; sign in again');
      const url = new URL(req.originalUrl, cx.origin);
      const user = await cx.oidc.finish(url, st, config.sessionTtlMs);
      res.set('set-cookie', [
        cookie(cx, LOGIN_COOKIE, '', 0, 'Lax'),
        cookie(cx, SESSION_COOKIE, cx.sealer.seal(user, 'session'), config.sessionTtlMs, 'Strict'),
      ]);
      log.info({ subject: user.subject, groups: user.groups, approver: isApprover(cx, user) }, 'console login');
      // A page of our own that moves on (not a redirect): the cross-site navigation from the IdP ends here, so the
      // next request is same-site and carries the SameSite=Strict session cookie.
      const to = st.returnTo;
      res
        .status(200)
        .type('html')
        .send(
          `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${encodeURI(to)}"><title>Signed in</title></head><body><p><a href="${encodeURI(to)}">Continue</a></p></body></html>`,
        );
    }),
  );
  app.post(`${base}/logout`, FORM, csrf(cx), (_req, res) => {
    res.set('set-cookie', cookie(cx, SESSION_COOKIE, '', 0, 'Strict'));
    res.redirect(303, `${base}/signed-out`);
  });
  app.get(`${base}/signed-out`, (_req, res) => {
    page(res, 200, messagePage({ base, user: undefined, csrf: undefined }, 'Signed out', 'You are signed out.'));
  });
}

/** A signed-in user, or: a page asks to sign in, the API answers ERR_CONSOLE_LOGIN. */
const requireUser: Handler = (req, res, next) => {
  const base = CONSOLE_PATH;
  if ((res.locals as Locals).user) {
    next();
    return;
  }
  if (req.method === 'GET' && !req.path.startsWith(`${base}/api/`)) {
    res.redirect(303, `${base}/login?returnTo=${encodeURIComponent(req.originalUrl)}`);
    return;
  }
  const err = new ProxyError('ERR_CONSOLE_LOGIN');
  res.status(err.status).json({ error: { code: err.code, status: err.status, message: err.message } });
};

/** Every state-changing request: a session, its CSRF token, and (when the browser says) our own origin. */
function csrf(cx: ConsoleContext): Handler {
  return (req, res, next) => {
    const user = (res.locals as Locals).user;
    const o = req.headers.origin;
    const fromUs = o === undefined ? (req.headers.referer ?? '').startsWith(`${cx.origin}/`) : o === cx.origin;
    const body = req.body as Record<string, unknown> | undefined;
    if (!user || !fromUs || !cx.sealer.checkCsrf(user.sid, body?._csrf)) {
      cx.deps.log.warn({ path: req.path, origin: o }, 'console request refused: CSRF check failed');
      page(res, 403, messagePage(ctx(res), 'Refused', 'This request did not come from a console page of this session (CSRF check failed).', 'error'));
      return;
    }
    next();
  };
}

/** Only approvers read records and the trail: non-approvers get a page saying so, and nothing else. */
function requireApprover(cx: ConsoleContext): Handler {
  return (_req, res, next) => {
    if (isApprover(cx, userOf(res))) next();
    else page(res, 403, messagePage(ctx(res), 'Nothing to decide', 'None of your groups may approve actions (approvals.approverGroups).', 'error'));
  };
}

/** The pending holds: the page and its JSON for refreshing (empty for non-approvers). */
function pendingRoutes(app: Express, cx: ConsoleContext): void {
  const base = CONSOLE_PATH;
  const { approvals } = cx.deps;
  app.get(
    [`${base}`, `${base}/`],
    requireUser,
    safe(async (_req, res) => {
      page(res, 200, pendingPage(ctx(res), isApprover(cx, userOf(res)) ? (await approvals.store.pending()).map(pendingRow) : undefined));
    }),
  );
  app.get(
    `${base}/api/pending`,
    requireUser,
    safe(async (_req, res) => {
      res.json({ pending: isApprover(cx, userOf(res)) ? (await approvals.store.pending()).map(pendingRow) : [] });
    }),
  );
}

function approverOf(u: ConsoleUser): { subject: string; sessionId: string; identity: ConsoleUser['identity'] } {
  return { subject: u.subject, sessionId: `console:${u.sid}`, identity: u.identity };
}

/** Why this user may not decide this record (four eyes), or undefined when they may. */
function selfWhy(cx: ConsoleContext, rec: Parameters<typeof checkSameHuman>[0], u: ConsoleUser): string | undefined {
  if (cx.deps.approvals.config.allowSelfApproval) return undefined;
  try {
    checkSameHuman(rec, approverOf(u));
    return undefined;
  } catch (err) {
    return `${(err as Error).message}: another approver must decide.`;
  }
}

/** One approval's page: the exact action, its place in the session's trail, and whether this user may decide it. */
async function showApproval(cx: ConsoleContext, req: Request, res: Response, status: number, flash?: { ok: boolean; text: string }): Promise<void> {
  const { approvals, trail, log } = cx.deps;
  const id = String(req.params.id ?? '');
  const rec = ID.test(id) ? await approvals.store.get(id) : undefined;
  if (!rec) {
    page(res, 404, messagePage(ctx(res), 'Not found', 'No such approval (it may have been decided more than a day ago).', 'error'));
    return;
  }
  const why = selfWhy(cx, rec.record.principal, userOf(res));
  const proposal = await proposalOf(trail, rec.record.principal.sessionId, id, log);
  page(res, status, approvalPage(ctx(res), rec.record, { proposal, canDecide: why === undefined, ...(why && { why }), ...(flash && { flash }) }));
}

/** An approval's page and its decision (approve or reject, four eyes as in the REST API). */
function approvalRoutes(app: Express, cx: ConsoleContext): void {
  const base = CONSOLE_PATH;
  app.get(
    `${base}/approvals/:id`,
    requireUser,
    requireApprover(cx),
    safe((req, res) => showApproval(cx, req, res, 200)),
  );
  app.post(
    `${base}/approvals/:id/decide`,
    requireUser,
    FORM,
    csrf(cx),
    requireApprover(cx),
    safe((req, res) => decideFromForm(cx, req, res)),
  );
}

/** Decides a held action from the approval page's form; a refusal (not found, four eyes, already decided) is shown on the page. */
async function decideFromForm(cx: ConsoleContext, req: Request, res: Response): Promise<void> {
  const { approvals, log } = cx.deps;
  const id = String(req.params.id ?? '');
  const user = userOf(res);
  const body = req.body as Record<string, unknown>;
  const verb = body.decision === 'approve' ? 'approve' : body.decision === 'reject' ? 'reject' : undefined;
  const reason = typeof body.reason === 'string' && body.reason.trim() !== '' ? body.reason.trim().slice(0, 500) : undefined;
  try {
    if (!verb || !ID.test(id)) throw new ProxyError('ERR_BAD_REQUEST', 'choose approve or reject');
    const rec = await approvals.store.get(id);
    if (!rec) throw new ProxyError('ERR_APPROVAL_NOT_FOUND');
    if (!approvals.config.allowSelfApproval) checkSameHuman(rec.record.principal, approverOf(user));
    const approver = { subject: user.subject, issuer: user.issuer, groups: [...user.groups], sessionId: `console:${user.sid}` };
    const decided = await decideApproval(approvals, rec, verb, approver, reason);
    log.info({ approvalId: id, decision: decided.record.status, approver: user.subject, via: 'console' }, 'approval decided');
    res.redirect(303, `${CONSOLE_PATH}/approvals/${encodeURIComponent(id)}`);
  } catch (err) {
    if (!(err instanceof ProxyError)) throw err;
    await showApproval(cx, req, res, err.status, { ok: false, text: `${err.code}: ${err.message}` });
  }
}

/** A session's timeline and the trail search (approvers only). */
function trailRoutes(app: Express, cx: ConsoleContext): void {
  const base = CONSOLE_PATH;
  const { trail } = cx.deps;
  app.get(
    `${base}/session`,
    requireUser,
    requireApprover(cx),
    safe(async (req, res) => {
      const id = typeof req.query.id === 'string' ? req.query.id.slice(0, 512) : '';
      if (id === '') {
        page(res, 400, messagePage(ctx(res), 'Session timeline', 'Give a session id (?id=…), or open one from an approval or a search.', 'error'));
        return;
      }
      page(res, 200, timelinePage(ctx(res), id, buildTrail(await trail({ sessionId: id }))));
    }),
  );
  app.get(
    `${base}/search`,
    requireUser,
    requireApprover(cx),
    safe(async (req, res) => {
      const f = searchForm(req.query as Record<string, unknown>);
      if (!Object.values(f).some((v) => v !== '')) {
        page(res, 200, searchPage(ctx(res), f, undefined));
        return;
      }
      let query: Parameters<TrailReader>[0];
      try {
        query = searchQuery(f);
      } catch (err) {
        page(res, 400, searchPage(ctx(res), f, undefined, (err as Error).message));
        return;
      }
      page(res, 200, searchPage(ctx(res), f, await trail(query)));
    }),
  );
}

/** The search form's fields as asked (trimmed, bounded; missing ones empty). */
export function searchForm(q: Record<string, unknown>): SearchForm {
  const val = (k: string): string => (typeof q[k] === 'string' ? (q[k] as string).trim().slice(0, 256) : '');
  return { repository: val('repository'), principal: val('principal'), rule: val('rule'), decision: val('decision'), from: val('from'), to: val('to') };
}

/** The trail query of a search form; throws ERR_BAD_REQUEST on a time it cannot read (a time without a zone is UTC, as the form says). */
export function searchQuery(f: SearchForm): Parameters<TrailReader>[0] {
  const time = (v: string): string | undefined => {
    if (v === '') return undefined;
    // datetime-local has no zone: the form says UTC.
    const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
    if (Number.isNaN(t)) throw new ProxyError('ERR_BAD_REQUEST', `not a time: ${v.slice(0, 40)}`);
    return new Date(t).toISOString();
  };
  const from = time(f.from);
  const to = time(f.to);
  return {
    ...(f.repository && { repository: f.repository }),
    ...(f.principal && { subject: f.principal }),
    ...(f.rule && { rule: f.rule }),
    ...(f.decision && { decision: f.decision }),
    ...(from && { from }),
    ...(to && { to }),
    limit: SEARCH_LIMIT,
  };
}

/** Errors never show internals: a login problem says what to do, anything else is logged and answered plainly. */
function errorHandler(log: Logger): (err: unknown, req: Request, res: Response, next: NextFunction) => void {
  return (err, _req, res, _next) => {
    if (err instanceof LoginError) {
      log.warn({ reason: err.message, cause: (err.cause as Error | undefined)?.message }, 'console login failed');
      page(res, 400, messagePage(ctx(res), 'Sign-in failed', `${err.message}.`, 'error'));
      return;
    }
    if ((err as { type?: string }).type === 'entity.too.large') {
      page(res, 413, messagePage(ctx(res), 'Too large', 'The form is too large.', 'error'));
      return;
    }
    const unavailable = (err as { name?: string }).name === 'BusError';
    log.error({ err }, 'console error');
    page(
      res,
      unavailable ? 503 : 500,
      messagePage(ctx(res), 'Error', unavailable ? 'The approvals store is unavailable; try again.' : 'Something went wrong; it was logged.', 'error'),
    );
  };
}

/** The held action's step in its session's trail, and the exchange that proposed it. */
async function proposalOf(trail: TrailReader, sessionId: string, actionId: string, log: Logger): Promise<Proposal> {
  try {
    const steps = buildTrail(await trail({ sessionId }));
    const held = steps.find((s) => s.actionId === actionId);
    const exchange = held?.link ? steps.find((s) => s.actionId === held.link?.exchangeId) : undefined;
    return { held, exchange };
  } catch (err) {
    // The page still shows the exact action: the trail is context, the record is what is decided.
    log.warn({ err: (err as Error).message }, 'trail unavailable for the console');
    return { held: undefined, exchange: undefined };
  }
}
