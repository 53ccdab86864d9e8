import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { onProcessExit } from './exit-hooks.js';

/** One CGI invocation. */
export interface CgiSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** The CGI's stderr is appended here. */
  stderr: Writable;
}

const HEADER_END = /\r?\n\r?\n/;

function parseHeaders(head: string): { status: number; headers: Array<[string, string]> } {
  let status = 200;
  const headers: Array<[string, string]> = [];
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 502;
    else headers.push([name, value]);
  }
  return { status, headers };
}

/**
 * Reads up to the blank line ending the CGI header block, then pauses the
 * stream with the rest of the first chunk returned (a `for await` + break
 * would destroy the stream).
 */
function readHeaderBlock(stream: Readable): Promise<{ head: string; rest: Buffer } | undefined> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const cleanup = (): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', reject);
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const match = HEADER_END.exec(buf.toString('latin1'));
      if (match) {
        cleanup();
        stream.pause();
        resolve({ head: buf.subarray(0, match.index).toString('latin1'), rest: buf.subarray(match.index + match[0].length) });
      } else if (buf.length > 64 * 1024) {
        cleanup();
        resolve(undefined);
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve(undefined);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', reject);
  });
}

/**
 * Runs a CGI program for one request, streaming the request body to its
 * stdin and its stdout (after the CGI header block) to the response; neither
 * body is ever held whole in memory. Resolves when the response has ended.
 */
export async function runCgi(req: IncomingMessage, res: ServerResponse, spec: CgiSpec): Promise<void> {
  const child = spawn(spec.command, spec.args, { env: spec.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const unregister = onProcessExit(() => child.kill('SIGKILL'));
  child.stderr.pipe(spec.stderr, { end: false });
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => resolve(code));
    child.once('error', () => resolve(null));
  });
  // The backend may answer (e.g. with an error) before reading the whole body: ignore EPIPE.
  const input = pipeline(req, child.stdin).catch(() => undefined);
  res.once('close', () => {
    if (!res.writableFinished) child.kill('SIGKILL');
  });

  try {
    const parsed = await readHeaderBlock(child.stdout);
    if (parsed === undefined) {
      const code = await exited;
      if (!res.headersSent) {
        res.statusCode = 502;
        res.end(`CGI ${spec.args.join(' ')} produced no header block (exit ${code ?? 'none'})\n`);
      }
      return;
    }
    const { status, headers } = parseHeaders(parsed.head);
    res.statusCode = status;
    for (const [name, value] of headers) res.appendHeader(name, value);
    const bodyStart = parsed.rest;
    res.write(bodyStart);
    await pipeline(child.stdout, res);
  } finally {
    await input;
    await exited;
    unregister();
  }
}
