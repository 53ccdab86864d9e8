import { createServer } from 'node:net';
import { TestkitError } from './errors.js';

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/** A loopback TCP port that was free a moment ago (the kernel picks it). */
export async function freePort(): Promise<number> {
  const port = await tryListen(0);
  if (port === undefined) throw new TestkitError('ERR_PORT_UNAVAILABLE', 'no free loopback port');
  return port;
}

/** True when nothing listens on 127.0.0.1:`port` and we may bind it. */
export async function isPortFree(port: number): Promise<boolean> {
  return (await tryListen(port)) === port;
}

/**
 * A free loopback port within [min, max], tried in random order so that
 * parallel test processes rarely collide.
 */
export async function freePortInRange(min: number, max: number): Promise<number> {
  const ports = Array.from({ length: max - min + 1 }, (_, i) => min + i);
  for (let i = ports.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [ports[i], ports[j]] = [ports[j]!, ports[i]!];
  }
  for (const port of ports) {
    if (await isPortFree(port)) return port;
  }
  throw new TestkitError('ERR_PORT_UNAVAILABLE', `no free loopback port in ${min}-${max}`);
}
