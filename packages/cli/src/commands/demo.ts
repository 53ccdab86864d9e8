import type { Bus } from '@agentgate/bus';
import { type Config, loadConfig } from '@agentgate/config';
import { createLogger } from '@agentgate/log';
import { freePort } from '@agentgate/testkit';
import { type DemoSessionResult, playDemoSession } from '../demo/session.js';
import { type DemoWorld, demoConfigText, startDemoWorld } from '../demo/world.js';
import { parseCommandArgs } from '../lib/args.js';
import type { ExitCode, Output } from '../lib/output.js';
import { startGateway } from './start.js';
import { buildTrail, formatTrail, readTrail, type TrailStep } from './trail.js';

/** What a demo run produced. */
export interface DemoRun {
  sessionId: string;
  steps: TrailStep[];
  session: DemoSessionResult;
}

/** The session id identity derives from a CI token. */
export async function sessionOf(bus: Bus, token: string): Promise<string> {
  return (await bus.request<{ sessionId: string }>('identity.verify', { token })).sessionId;
}

/** The trail is complete when the force-push denial and the last exchange's outcome are in the store. */
export function demoTrailComplete(steps: readonly TrailStep[]): boolean {
  const exchanges = steps.filter((s) => s.kind === 'llm.exchange');
  return exchanges.length >= 3 && exchanges.every((s) => s.outcome === 'completed') && steps.some((s) => s.kind === 'git.force_push' && s.outcome === 'denied') && steps.some((s) => s.kind === 'git.push' && s.outcome === 'completed');
}

/** Polls the trail store until the demo session's trail is complete (the writer batches for up to ~200 ms). */
export async function waitForTrail(config: Config, sessionId: string, timeoutMs = 30_000): Promise<TrailStep[]> {
  const until = Date.now() + timeoutMs;
  let steps: TrailStep[] = [];
  while (Date.now() < until) {
    steps = buildTrail(await readTrail(config, sessionId).catch(() => []));
    if (demoTrailComplete(steps)) return steps;
    await new Promise((r) => setTimeout(r, 250));
  }
  return steps;
}

/**
 * Runs the demo in one process: the gateway on the in-process bus with the
 * local store, around a CI issuer, a git upstream and a model double, then
 * the scripted session, then its trail.
 */
export async function runDemo(io: Output, world?: DemoWorld): Promise<DemoRun> {
  const w = world ?? (await startDemoWorld());
  // The broker reads the brokered values from the environment, as in production; they are removed afterwards.
  const saved = Object.keys(w.secretEnv).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, w.secretEnv);
  const config = loadConfig({ text: demoConfigText(w, { port: await freePort() }), env: {} });
  const gw = await startGateway(config);
  const stops: Array<() => Promise<void>> = [];
  try {
    if (!gw.components.some((c) => c.name.startsWith('masking'))) {
      // Events reach the trail through the masking service (raw → clean stream); this start runner has none yet.
      const { startMaskingService } = await import('@agentgate/masking-service');
      const m = await startMaskingService(gw.bus, config, createLogger({ name: 'masking', level: config.log.level }));
      stops.push(() => m.stop());
    }
    io.out(`agentgate demo: gateway on ${gw.url} (in-process bus, local store ${config.audit.sinks[0]?.type === 'local' ? config.audit.sinks[0].path : ''})`);
    io.out('');
    const session = await playDemoSession(w, gw.url ?? '', (line) => io.out(`  ${line}`));
    const sessionId = await sessionOf(gw.bus, session.token);
    const steps = await waitForTrail(config, sessionId);
    io.out('');
    io.out(`$ agentgate trail ${sessionId}`);
    for (const line of formatTrail(sessionId, steps)) io.out(line);
    return { sessionId, steps, session };
  } finally {
    for (const stop of stops) await stop().catch(() => {});
    await gw.stop().catch(() => {});
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    if (!world) await w.close();
  }
}

/** `agentgate demo`: exit 0 when the session went as the policy says (push allowed, force-push denied, secret masked), else 1. */
export async function demo(args: string[], io: Output): Promise<ExitCode> {
  parseCommandArgs('demo', args, {});
  const run = await runDemo(io);
  const ok = run.session.pushExit === 0 && run.session.forcePushExit !== 0 && !run.session.secretReachedModel && demoTrailComplete(run.steps);
  if (!ok) io.err('the demo did not go as expected (see above)');
  return ok ? 0 : 1;
}
