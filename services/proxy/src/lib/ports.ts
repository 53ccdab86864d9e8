import type { Principal } from '@agentgate/events';

/**
 * The shapes the pipeline needs from @agentgate/policy and
 * @agentgate/secret-broker, declared structurally so the pipeline can be
 * unit-tested with fakes; start-proxy.ts wires the real packages.
 */
export interface PolicyPort {
  decide(
    principal: Principal,
    action: { kind: string; connection: string; attributes: Record<string, unknown> },
  ): { effect: 'allow' | 'deny' | 'review'; rule: string | null; reason: string; evaluationError?: string };
  /** The deny that applies whatever the attributes the action leaves out hold, else undefined (@agentgate/policy). */
  certainDenial?(
    principal: Principal,
    action: { kind: string; connection: string; attributes: Record<string, unknown> },
  ): { effect: 'allow' | 'deny' | 'review'; rule: string | null; reason: string } | undefined;
}

/** How a credential is put on the upstream request. */
export interface InjectSpec {
  type: 'bearer' | 'basic' | 'header' | 'client-certificate';
  header?: string;
  username?: string;
}

/** A leased credential: `value` is the secret itself and must never reach a client, a log line or an event. */
export interface LeasePort {
  lease(connection: string): Promise<{ ref: string; value: string; inject: InjectSpec; expiresAt: number }>;
  invalidate?(connection: string): void;
}

export type Lease = Awaited<ReturnType<LeasePort['lease']>>;
