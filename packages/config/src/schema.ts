import { z } from 'zod';
import { approvalsSchema } from './sections/approvals.js';
import { auditSchema } from './sections/audit.js';
import { busSchema } from './sections/bus.js';
import { consoleSchema } from './sections/console.js';
import { connectionsSchema } from './sections/connections.js';
import { gatewaySchema } from './sections/gateway.js';
import { identitySchema } from './sections/identity.js';
import { logSchema } from './sections/log.js';
import { maskingSchema } from './sections/masking.js';
import { policySchema } from './sections/policy.js';
import { secretsSchema } from './sections/secrets.js';
import { telemetrySchema } from './sections/telemetry.js';

/**
 * The whole configuration file. Every object is strict (unknown keys are
 * errors, so a typo never silently falls back to a default) and every
 * section has defaults, so an empty file is a valid (deny-everything) config.
 */
export const configSchema = z
  .strictObject({
    gateway: gatewaySchema,
    bus: busSchema,
    identity: identitySchema,
    connections: connectionsSchema,
    secrets: secretsSchema,
    policy: policySchema,
    masking: maskingSchema,
    audit: auditSchema,
    approvals: approvalsSchema,
    console: consoleSchema,
    log: logSchema,
    telemetry: telemetrySchema,
  })
  .superRefine((c, ctx) => {
    const secretRefs = new Set(c.secrets.map((s) => s.ref));
    c.connections.forEach((conn, i) => {
      // A dangling reference would only fail at the first request; stop at start-up instead.
      if (conn.credential && !secretRefs.has(conn.credential.ref)) {
        ctx.addIssue({
          code: 'custom',
          path: ['connections', i, 'credential', 'ref'],
          message: `names no configured secret ("${conn.credential.ref}")`,
        });
      }
    });
    // The gateway's own secrets (console, webhooks) are read through the same backends: a dangling one stops start-up too.
    const ownRef = (ref: string | undefined, path: PropertyKey[]): void => {
      if (ref !== undefined && !secretRefs.has(ref)) ctx.addIssue({ code: 'custom', path, message: `names no configured secret ("${ref}")` });
    };
    ownRef(c.console?.clientSecretRef, ['console', 'clientSecretRef']);
    ownRef(c.console?.sessionSecretRef, ['console', 'sessionSecretRef']);
    c.approvals.notify.webhooks.forEach((w, i) => {
      ownRef(w.urlRef, ['approvals', 'notify', 'webhooks', i, 'urlRef']);
      ownRef(w.secretRef, ['approvals', 'notify', 'webhooks', i, 'secretRef']);
    });
    const names = new Set(c.connections.map((conn) => conn.name));
    c.policy.rules.forEach((rule, i) => {
      rule.connections?.forEach((name, j) => {
        if (!names.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['policy', 'rules', i, 'connections', j],
            message: `names no configured connection ("${name}")`,
          });
        }
      });
    });
  });

/** Recursively read-only view of a value. */
export type DeepReadonly<T> = T extends (infer U)[] ? ReadonlyArray<DeepReadonly<U>> : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

/** The validated, defaulted, deep-frozen configuration. */
export type Config = DeepReadonly<z.output<typeof configSchema>>;
