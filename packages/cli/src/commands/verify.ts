import { join } from 'node:path';
import { createSink, formatVerifyAllReport, formatVerifyReport, publicKeyPath, readPublicKey, verifyAllPartitions, verifyTrail } from '@agentgate/audit-writer';
import { createBus } from '@agentgate/bus';
import { loadConfig } from '@agentgate/config';
import { CliError } from '../errors.js';
import { parseCommandArgs } from '../lib/args.js';
import type { ExitCode, Output } from '../lib/output.js';

/**
 * `agentgate verify`: walks the audit trail in the index (or the local store),
 * checks each event's hash and its link to the previous one, and compares the
 * chain with the signed checkpoints kept outside the index (the AUDIT_CHECKPOINTS
 * stream) and with the writer's chain head on the bus (a second witness of what was
 * written). Exit 0 when intact and covered by a signed checkpoint, 1 when anything was
 * modified, deleted, reordered, inserted or cut off, 3 when intact up to the last signed
 * checkpoint but events past it are not covered yet (UNVERIFIED TAIL: run it again after
 * `audit.checkpoint.idleMs`). `--all-partitions` walks every partition the index, the
 * checkpoints or the bus names (scaled-out writers) and fails on documents no chain holds.
 */
export async function verify(args: string[], io: Output): Promise<ExitCode> {
  const { values } = parseCommandArgs('verify', args, {
    config: { type: 'string', short: 'c' },
    sink: { type: 'string' },
    partition: { type: 'string' },
    'all-partitions': { type: 'boolean' },
    'public-key': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values['all-partitions'] && values.partition !== undefined) throw new CliError('ERR_CLI_INPUT', '--partition and --all-partitions exclude each other');
  const config = loadConfig(values.config ? { path: values.config } : {});
  const sinkCfg = values.sink ? config.audit.sinks.find((s) => s.type === values.sink) : config.audit.sinks[0];
  if (!sinkCfg) throw new CliError('ERR_CLI_INPUT', `no ${values.sink ?? ''} sink configured in audit.sinks`);
  const keyPath = config.audit.checkpoint.keyPath ?? join(config.bus.dataDir, 'audit-checkpoint-key.json');
  const publicKey = readPublicKey(values['public-key'] ?? publicKeyPath(keyPath));
  const sink = createSink(sinkCfg, config.audit.indexPrefix);
  // The checkpoints are read from the bus, outside the index, so a rewritten index cannot hide a cut tail.
  const bus = await createBus({
    natsUrl: config.bus.natsUrl,
    nats: config.bus.nats,
    dataDir: config.bus.dataDir,
    replicas: config.bus.streams.replicas,
    name: 'agentgate-verify',
  });
  try {
    if (values['all-partitions']) {
      const all = await verifyAllPartitions({ sink, publicKey, checkpoints: { bus } });
      io.out(values.json ? JSON.stringify(all) : formatVerifyAllReport(all).trimEnd());
      return all.verdict === 'ok' ? 0 : all.verdict === 'unverified-tail' ? 3 : 1;
    }
    const report = await verifyTrail({ sink, partition: values.partition ?? config.audit.partition, publicKey, checkpoints: { bus } });
    io.out(values.json ? JSON.stringify(report) : formatVerifyReport(report).trimEnd());
    return report.verdict === 'ok' ? 0 : report.verdict === 'unverified-tail' ? 3 : 1;
  } finally {
    await bus.close();
    await (sink as { close?: () => Promise<void> }).close?.();
  }
}
