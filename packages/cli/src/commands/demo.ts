import { createServer } from 'node:net';
import { parseArgs } from 'node:util';
import { type Bus, createBus, onShutdown } from '@agentgate/bus';
import { type Config, loadConfig } from '@agentgate/config';
import {
  type DemoPart,
  type DemoSessionResult,
  type DemoWorld,
  demoConfigText,
  playDemoSession,
  readSecretFile,
  remoteDemoAgent,
  serveDemoPart,
  startDemoWorld,
} from '@agentgate/demo';
import { createLogger } from '@agentgate/log';
import { CliError } from '../errors.js';
import type { ExitCode, Output } from '../lib/output.js';
import { COMMAND_USAGE } from '../lib/usage.js';
import { startGateway } from './start.js';
import { buildTrail, formatTrail, readTrail, type TrailStep } from './trail.js';

/** What a demo run produced. */
export interface DemoRun {
  sessionId: string;
  steps: TrailStep[];
  session: DemoSessionResult;
}

/** A free TCP port on loopback (the kernel picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The session id identity derives from a CI token. */
export async function sessionOf(bus: Bus, token: string): Promise<string> {
  return (await bus.request<{ sessionId: string }>('identity.verify', { token })).sessionId;
}

/** The trail is complete when the force-push denial and the last exchange's outcome are in the store. */
export function demoTrailComplete(steps: readonly TrailStep[]): boolean {
  const exchanges = steps.filter((s) => s.kind === 'llm.exchange');
  return (
    exchanges.length >= 3 &&
    exchanges.every((s) => s.outcome === 'completed') &&
    steps.some((s) => s.kind === 'git.force_push' && s.outcome === 'denied') &&
    steps.some((s) => s.kind === 'git.push' && s.outcome === 'completed')
  );
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
      const m = await startMaskingService(gw.bus, config, createLogger({ name: 'masking', level: config.log.level, format: config.log.format }));
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

/** Whether the session went as the policy says: push allowed, force-push denied, held deployment approved and done, secret and token never at the model. */
export function demoSessionOk(s: DemoSessionResult): boolean {
  return s.pushExit === 0 && s.forcePushExit !== 0 && (s.held === undefined || s.held.status === 201) && !s.secretReachedModel && !s.tokenReachedModel;
}

const USAGE = COMMAND_USAGE.demo;

function options(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        secrets: { type: 'string' },
        data: { type: 'string' },
        'issuer-url': { type: 'string' },
        gateway: { type: 'string' },
        issuer: { type: 'string' },
        model: { type: 'string' },
        'wait-ms': { type: 'string' },
      },
    });
  } catch (cause) {
    throw new CliError('ERR_CLI_USAGE', `${USAGE}\n(${(cause as Error).message})`);
  }
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new CliError('ERR_CLI_USAGE', `${flag} is required\n${USAGE}`);
  return value;
}

/** `agentgate demo serve <part>`: one part of the demo as its own process, until SIGTERM/SIGINT. */
async function serve(args: string[], io: Output): Promise<ExitCode> {
  const { values, positionals } = options(args);
  const part = positionals[0];
  if (part !== 'issuer' && part !== 'git' && part !== 'model') throw new CliError('ERR_CLI_USAGE', USAGE);
  const port = Number(values.port ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('ERR_CLI_USAGE', `--port must be a port number\n${USAGE}`);
  const server = await serveDemoPart(part as DemoPart, {
    host: values.host ?? '127.0.0.1',
    port,
    secretsDir: values.secrets ?? '/run/secrets/demo-upstream',
    dataDir: values.data ?? '/var/lib/agentgate',
    ...(values['issuer-url'] && { issuerUrl: values['issuer-url'] }),
  });
  io.out(`agentgate demo ${part} listening on ${server.url}`);
  onShutdown(() => server.close());
  return new Promise<ExitCode>(() => {});
}

/** Waits until the gateway says it is ready (bus and audit stream reachable). */
async function waitReady(gateway: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`${gateway}/_agentgate/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > until) throw new CliError('ERR_CLI_INPUT', `the gateway at ${gateway} was not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** `agentgate demo agent`: the scripted session against a running gateway, then its trail when a configuration is at hand. */
async function agent(args: string[], io: Output): Promise<ExitCode> {
  const { values } = options(args);
  const gateway = required(values.gateway, '--gateway');
  const a = remoteDemoAgent({
    issuerUrl: required(values.issuer, '--issuer'),
    modelUrl: required(values.model, '--model'),
    dbPassword: readSecretFile(required(values.secrets, '--secrets'), 'db-password'),
  });
  await waitReady(gateway, Number(values['wait-ms'] ?? '120000'));
  io.out(`agentgate demo agent: playing the session against ${gateway}`);
  const session = await playDemoSession(a, gateway, (line) => io.out(`  ${line}`));
  let trailOk = true;
  if (process.env.AGENTGATE_CONFIG) {
    const config = loadConfig();
    const bus = await createBus({
      natsUrl: config.bus.natsUrl,
      nats: config.bus.nats,
      dataDir: config.bus.dataDir,
      replicas: config.bus.streams.replicas,
      name: 'agentgate-demo-agent',
    });
    try {
      const sessionId = await sessionOf(bus, session.token);
      const steps = await waitForTrail(config, sessionId, 60_000);
      trailOk = demoTrailComplete(steps);
      io.out('');
      io.out(`$ agentgate trail ${sessionId}`);
      for (const line of formatTrail(sessionId, steps)) io.out(line);
    } finally {
      await bus.close();
    }
  }
  const ok = demoSessionOk(session) && trailOk;
  if (!ok) io.err('the demo did not go as expected (see above)');
  return ok ? 0 : 1;
}

/** `agentgate demo [serve|agent]`: exit 0 when the session went as the policy says, else 1. */
export async function demo(args: string[], io: Output): Promise<ExitCode> {
  if (args[0] === 'serve') return serve(args.slice(1), io);
  if (args[0] === 'agent') return agent(args.slice(1), io);
  // Name what was not understood (an unknown flag or part), as every command does.
  if (args.length > 0) throw new CliError('ERR_CLI_USAGE', `${USAGE}\n(unknown ${args[0]?.startsWith('-') ? 'option' : 'argument'} '${args[0]}')`);
  const run = await runDemo(io);
  const ok = demoSessionOk(run.session) && demoTrailComplete(run.steps);
  if (!ok) io.err('the demo did not go as expected (see above)');
  return ok ? 0 : 1;
}
