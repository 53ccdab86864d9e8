import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '@agentgate/config';

type ConsoleConfig = NonNullable<Config['console']>;
import { buildTrail } from '@agentgate/events';
import type { Logger } from '@agentgate/log';
import express, { type NextFunction, type Request, type Response } from 'express';
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

/**
 * The approvers' console: an express app (the data path stays on node:http
 * + undici) served under `/_agentgate/console`. Login with OIDC (code +
 * PKCE), a stateless HMAC-signed session cookie (HttpOnly, SameSite=Strict,
 * Secure over https), a CSRF token and an Origin check on every POST,
 * approvers authorised by `approvals.approverGroups`, four eyes as in the
 * REST API. Every page is escaped HTML under a strict CSP (no inline script).
 */
export async function createConsole(deps: ConsoleDeps): Promise<(req: IncomingMessage, res: ServerResponse) => void> {
  const { config, approvals, log } = deps;
  // Without a configured key the sessions live as long as this process (documented): never a fixed default key.
  const key = config.sessionSecretRef ? Buffer.from(await deps.secrets(config.sessionSecretRef), 'utf8') : randomBytes(32);
  const sealer = new CookieSealer(key);
  const oidc = new ConsoleOidc(config, deps.secrets);
  const redirect = new URL(config.redirectUrl);
  const origin = redirect.origin;
  const secure = redirect.protocol === 'https:';
  const base = CONSOLE_PATH;
  const issuerOrigin = new URL(config.issuer).origin;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use((_req, res, next) => {
    res.set({
      'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self' ${issuerOrigin}; base-uri 'none'; frame-ancestors 'none'`,
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
      // same-origin (not no-referrer): browsers then send Origin on our own POSTs, which the CSRF check reads.
      'referrer-policy': 'same-origin',
      'cache-control': 'no-store',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
    });
    next();
  });

  const cookie = (name: string, value: string, maxAgeMs: number, sameSite: 'Strict' | 'Lax'): string =>
    `${name}=${value}; Path=${base}; HttpOnly; SameSite=${sameSite}; Max-Age=${Math.max(0, Math.floor(maxAgeMs / 1000))}${secure ? '; Secure' : ''}`;

  // Who is signed in (if anyone), and their CSRF token.
  app.use((req, res, next) => {
    const user = sealer.open<ConsoleUser>(cookieOf(req.headers.cookie, SESSION_COOKIE), 'session');
    const locals = res.locals as Locals;
    if (user) {
      locals.user = user;
      locals.csrf = sealer.csrfToken(user.sid);
    }
    next();
  });

  const ctx = (res: Response): PageContext => {
    const l = res.locals as Locals;
    return { base, user: l.user, csrf: l.csrf };
  };
  const page = (res: Response, status: number, body: string): void => {
    res.status(status).type('html').send(body);
  };
  const isApprover = (u: ConsoleUser): boolean => u.groups.some((g) => approvals.config.approverGroups.includes(g));

  app.get(`${base}/static/console.js`, (_req, res) => {
    res.type('text/javascript').set('cache-control', 'public, max-age=300').send(CONSOLE_JS);
  });
  app.get(`${base}/static/console.css`, (_req, res) => {
    res.type('text/css').set('cache-control', 'public, max-age=300').send(CONSOLE_CSS);
  });

  app.get(`${base}/login`, async (req, res, next) => {
    try {
      const asked = typeof req.query.returnTo === 'string' ? req.query.returnTo : '';
      // Only a console path: never an open redirect to another site.
      const returnTo = asked.startsWith(`${base}/`) && !asked.startsWith('//') && !asked.includes('\\') ? asked : `${base}/`;
      const { url, state } = await oidc.start(returnTo);
      // Lax, not Strict: the IdP's redirect back is a cross-site navigation, which must still carry the login state.
      res.set('set-cookie', cookie(LOGIN_COOKIE, sealer.seal(state, 'login'), 10 * 60_000, 'Lax'));
      res.redirect(303, url);
    } catch (err) {
      next(err);
    }
  });

  app.get(`${base}/callback`, async (req, res, next) => {
    try {
      const st = sealer.open<LoginState>(cookieOf(req.headers.cookie, LOGIN_COOKIE), 'login');
      if (!st) throw new LoginError('the login expired or was started elsewhere; sign in again');
      const url = new URL(req.originalUrl, origin);
      const user = await oidc.finish(url, st, config.sessionTtlMs);
      res.set('set-cookie', [cookie(LOGIN_COOKIE, '', 0, 'Lax'), cookie(SESSION_COOKIE, sealer.seal(user, 'session'), config.sessionTtlMs, 'Strict')]);
      log.info({ subject: user.subject, groups: user.groups, approver: isApprover(user) }, 'console login');
      // A page of our own that moves on (not a redirect): the cross-site navigation from the IdP ends here, so the
      // next request is same-site and carries the SameSite=Strict session cookie.
      const to = st.returnTo;
      res
        .status(200)
        .type('html')
        .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${encodeURI(to)}"><title>Signed in</title></head><body><p><a href="${encodeURI(to)}">Continue</a></p></body></html>`);
    } catch (err) {
      next(err);
    }
  });

  const requireUser = (req: Request, res: Response, next: NextFunction): void => {
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

  // Every state-changing request: a session, its CSRF token, and (when the browser says) our own origin.
  const csrf = (req: Request, res: Response, next: NextFunction): void => {
    const user = (res.locals as Locals).user;
    const o = req.headers.origin;
    const fromUs = o === undefined ? (req.headers.referer ?? '').startsWith(`${origin}/`) : o === origin;
    const body = req.body as Record<string, unknown> | undefined;
    if (!user || !fromUs || !sealer.checkCsrf(user.sid, body?._csrf)) {
      log.warn({ path: req.path, origin: o }, 'console request refused: CSRF check failed');
      page(res, 403, messagePage(ctx(res), 'Refused', 'This request did not come from a console page of this session (CSRF check failed).', 'error'));
      return;
    }
    next();
  };
  const form = express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 10 });

  app.post(`${base}/logout`, form, csrf, (_req, res) => {
    res.set('set-cookie', cookie(SESSION_COOKIE, '', 0, 'Strict'));
    res.redirect(303, `${base}/signed-out`);
  });
  app.get(`${base}/signed-out`, (_req, res) => {
    page(res, 200, messagePage({ base, user: undefined, csrf: undefined }, 'Signed out', 'You are signed out.'));
  });

  app.get([`${base}`, `${base}/`], requireUser, async (_req, res, next) => {
    try {
      const user = (res.locals as Locals).user as ConsoleUser;
      page(res, 200, pendingPage(ctx(res), isApprover(user) ? (await approvals.store.pending()).map(pendingRow) : undefined));
    } catch (err) {
      next(err);
    }
  });

  app.get(`${base}/api/pending`, requireUser, async (_req, res, next) => {
    try {
      const user = (res.locals as Locals).user as ConsoleUser;
      res.json({ pending: isApprover(user) ? (await approvals.store.pending()).map(pendingRow) : [] });
    } catch (err) {
      next(err);
    }
  });

  /** Only approvers read records and the trail: non-approvers get a page saying so, and nothing else. */
  const requireApprover = (_req: Request, res: Response, next: NextFunction): void => {
    const user = (res.locals as Locals).user as ConsoleUser;
    if (isApprover(user)) next();
    else page(res, 403, messagePage(ctx(res), 'Nothing to decide', 'None of your groups may approve actions (approvals.approverGroups).', 'error'));
  };

  const approverOf = (u: ConsoleUser) => ({ subject: u.subject, sessionId: `console:${u.sid}`, identity: u.identity });
  const selfWhy = (rec: Parameters<typeof checkSameHuman>[0], u: ConsoleUser): string | undefined => {
    if (approvals.config.allowSelfApproval) return undefined;
    try {
      checkSameHuman(rec, approverOf(u));
      return undefined;
    } catch (err) {
      return `${(err as Error).message}: another approver must decide.`;
    }
  };

  const showApproval = async (req: Request, res: Response, status: number, flash?: { ok: boolean; text: string }): Promise<void> => {
    const id = String(req.params.id ?? '');
    const user = (res.locals as Locals).user as ConsoleUser;
    const rec = ID.test(id) ? await approvals.store.get(id) : undefined;
    if (!rec) {
      page(res, 404, messagePage(ctx(res), 'Not found', 'No such approval (it may have been decided more than a day ago).', 'error'));
      return;
    }
    const why = selfWhy(rec.record.principal, user);
    page(res, status, approvalPage(ctx(res), rec.record, { proposal: await proposalOf(deps.trail, rec.record.principal.sessionId, id, log), canDecide: why === undefined, ...(why && { why }), ...(flash && { flash }) }));
  };

  app.get(`${base}/approvals/:id`, requireUser, requireApprover, async (req, res, next) => {
    try {
      await showApproval(req, res, 200);
    } catch (err) {
      next(err);
    }
  });

  app.post(`${base}/approvals/:id/decide`, requireUser, form, csrf, requireApprover, async (req, res, next) => {
    const id = String(req.params.id ?? '');
    const user = (res.locals as Locals).user as ConsoleUser;
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
      res.redirect(303, `${base}/approvals/${encodeURIComponent(id)}`);
    } catch (err) {
      if (!(err instanceof ProxyError)) {
        next(err);
        return;
      }
      try {
        await showApproval(req, res, err.status, { ok: false, text: `${err.code}: ${err.message}` });
      } catch (again) {
        next(again);
      }
    }
  });

  app.get(`${base}/session`, requireUser, requireApprover, async (req, res, next) => {
    try {
      const id = typeof req.query.id === 'string' ? req.query.id.slice(0, 512) : '';
      if (id === '') {
        page(res, 400, messagePage(ctx(res), 'Session timeline', 'Give a session id (?id=…), or open one from an approval or a search.', 'error'));
        return;
      }
      page(res, 200, timelinePage(ctx(res), id, buildTrail(await deps.trail({ sessionId: id }))));
    } catch (err) {
      next(err);
    }
  });

  app.get(`${base}/search`, requireUser, requireApprover, async (req, res, next) => {
    try {
      const q = req.query as Record<string, unknown>;
      const val = (k: string): string => (typeof q[k] === 'string' ? (q[k] as string).trim().slice(0, 256) : '');
      const f: SearchForm = { repository: val('repository'), principal: val('principal'), rule: val('rule'), decision: val('decision'), from: val('from'), to: val('to') };
      const asked = Object.values(f).some((v) => v !== '');
      if (!asked) {
        page(res, 200, searchPage(ctx(res), f, undefined));
        return;
      }
      const time = (v: string): string | undefined => {
        if (v === '') return undefined;
        // datetime-local has no zone: the form says UTC.
        const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
        if (Number.isNaN(t)) throw new ProxyError('ERR_BAD_REQUEST', `not a time: ${v.slice(0, 40)}`);
        return new Date(t).toISOString();
      };
      let from: string | undefined;
      let to: string | undefined;
      try {
        from = time(f.from);
        to = time(f.to);
      } catch (err) {
        page(res, 400, searchPage(ctx(res), f, undefined, (err as Error).message));
        return;
      }
      const events = await deps.trail({
        ...(f.repository && { repository: f.repository }),
        ...(f.principal && { subject: f.principal }),
        ...(f.rule && { rule: f.rule }),
        ...(f.decision && { decision: f.decision }),
        ...(from && { from }),
        ...(to && { to }),
        limit: SEARCH_LIMIT,
      });
      page(res, 200, searchPage(ctx(res), f, events));
    } catch (err) {
      next(err);
    }
  });

  app.use((_req: Request, res: Response) => {
    page(res, 404, messagePage(ctx(res), 'Not found', 'There is no such console page.', 'error'));
  });

  // Errors never show internals: a login problem says what to do, anything else is logged and answered plainly.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
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
    page(res, unavailable ? 503 : 500, messagePage(ctx(res), 'Error', unavailable ? 'The approvals store is unavailable; try again.' : 'Something went wrong; it was logged.', 'error'));
  });

  return (req, res) => {
    app(req as Request, res as Response, () => {});
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
