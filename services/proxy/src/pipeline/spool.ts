import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type AuditEvent, validateEvent } from '@agentgate/events';

/** Owner-only: spooled events are raw (unmasked) audit data. */
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const PREFIX = 'outcomes-';
const SUFFIX = '.jsonl';

/** Spool files of this process that are in use (a second proxy in the same process has its own). */
const OPEN_FILES = new Set<string>();

export interface SpoolOptions {
  /** Directory of the spool files (`<bus.dataDir>/spool`). */
  dir: string;
  /** Bound of the spooled bytes; an event beyond it is not spooled. */
  maxBytes: number;
}

/** What a spool holds, for readiness details and logs. */
export interface SpoolStats {
  events: number;
  bytes: number;
  maxBytes: number;
  /** Events not spooled because the bound was reached (since start). */
  dropped: number;
  /** Events read back from spools a stopped or crashed proxy left (at start). */
  recovered: number;
  /** Lines of a spool file that were not an event (a torn write of a crash): skipped. */
  unreadable: number;
}

interface Entry {
  event: AuditEvent;
  bytes: number;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A bounded first-in-first-out queue of audit events on local disk: one JSON line per event, appended
 * and fsync'd before `append` returns, so an event the bus could not take survives a crash of the
 * proxy. Each proxy has its own file (`outcomes-<pid>-<random>.jsonl`); at open it takes over the files
 * a stopped or crashed proxy left (its process is gone), oldest first, so nothing spooled is forgotten.
 * Events leave the queue only by `shift` once the bus stored them; `commit` makes that durable by
 * rewriting the file (a crash before it replays them again, which the stream's message-id de-duplication
 * and the writer's id check absorb).
 */
export class OutcomeSpool {
  readonly path: string;
  #opts: SpoolOptions;
  #queue: Entry[] = [];
  #head = 0;
  #bytes = 0;
  #fd: number | undefined;
  #stats = { dropped: 0, recovered: 0, unreadable: 0 };

  private constructor(opts: SpoolOptions, path: string) {
    this.#opts = opts;
    this.path = path;
  }

  /** Opens a new spool file under `opts.dir` and takes over what earlier proxies left there. */
  static open(opts: SpoolOptions): OutcomeSpool {
    mkdirSync(opts.dir, { recursive: true, mode: DIR_MODE });
    chmodSync(opts.dir, DIR_MODE);
    const path = join(opts.dir, `${PREFIX}${process.pid}-${randomBytes(4).toString('hex')}${SUFFIX}`);
    const spool = new OutcomeSpool(opts, path);
    OPEN_FILES.add(path);
    spool.#adoptOrphans();
    return spool;
  }

  /** Events waiting. */
  get size(): number {
    return this.#queue.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Too full to promise a record for a new action: keep the rest for outcomes of requests already running. */
  get nearlyFull(): boolean {
    return this.#bytes >= this.#opts.maxBytes - Math.min(this.#opts.maxBytes / 10, 1024 * 1024);
  }

  stats(): SpoolStats {
    return { events: this.size, bytes: this.#bytes, maxBytes: this.#opts.maxBytes, ...this.#stats };
  }

  /** Appends and fsyncs one event; false (and counted as dropped) when it would pass the bound. */
  append(event: AuditEvent): boolean {
    const line = `${JSON.stringify(event)}\n`;
    const bytes = Buffer.byteLength(line);
    if (this.#bytes + bytes > this.#opts.maxBytes) {
      this.#stats.dropped++;
      return false;
    }
    this.#fd ??= this.#openAppend();
    writeSync(this.#fd, line);
    fsyncSync(this.#fd);
    this.#queue.push({ event, bytes });
    this.#bytes += bytes;
    return true;
  }

  /** The oldest waiting event. */
  peek(): AuditEvent | undefined {
    return this.#queue[this.#head]?.event;
  }

  /** Takes the oldest event off the queue (it was stored); durable at the next `commit`. */
  shift(): void {
    const e = this.#queue[this.#head];
    if (!e) return;
    this.#head++;
    this.#bytes -= e.bytes;
  }

  /** Makes the shifts durable: an empty spool is truncated, a partial one rewritten with what still waits. */
  commit(): void {
    if (this.#head === 0) return;
    this.#queue = this.#queue.slice(this.#head);
    this.#head = 0;
    this.#rewrite();
  }

  /** Closes the file; an empty one is removed, a non-empty one waits for the next start. */
  close(): void {
    this.commit();
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    if (this.size === 0) rmSync(this.path, { force: true });
    OPEN_FILES.delete(this.path);
  }

  #openAppend(): number {
    const fd = openSync(this.path, 'a', FILE_MODE);
    fchmodSync(fd, FILE_MODE);
    return fd;
  }

  /** Replaces the file by the waiting events (temp file, fsync, rename). */
  #rewrite(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w', FILE_MODE);
    try {
      fchmodSync(fd, FILE_MODE);
      let buf = '';
      for (let i = this.#head; i < this.#queue.length; i++) buf += `${JSON.stringify(this.#queue[i]!.event)}\n`;
      if (buf) writeSync(fd, buf);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    const dirFd = openSync(this.#opts.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }

  /** Files of proxies that are gone (pid not running, or this pid reused after a restart): claimed by rename, read, removed. */
  #adoptOrphans(): void {
    const orphan = (name: string): boolean => {
      const pid = Number(/^outcomes-(\d+)-/.exec(name)?.[1]);
      return !Number.isInteger(pid) || pid === process.pid || !pidAlive(pid);
    };
    const names = readdirSync(this.#opts.dir).filter((f) => f.startsWith(PREFIX) && orphan(f));
    // A temp file is a rewrite a crash interrupted: its original is still in place.
    for (const f of names.filter((n) => n.endsWith('.tmp'))) rmSync(join(this.#opts.dir, f), { force: true });
    const files = names
      .filter((f) => f.endsWith(SUFFIX))
      .map((f) => join(this.#opts.dir, f))
      .filter((p) => !OPEN_FILES.has(p))
      .map((p) => ({ p, mtime: statSync(p).mtimeMs }))
      .sort((a, b) => a.mtime - b.mtime);
    const claimed: string[] = [];
    for (const { p } of files) {
      // Renamed to a name of ours first (atomic: two proxies starting together never both take a file); still a
      // spool file by its name, so a crash right now leaves it for the next start.
      const mine = this.path.replace(SUFFIX, `-c${claimed.length}${SUFFIX}`);
      try {
        renameSync(p, mine);
      } catch {
        continue;
      }
      claimed.push(mine);
      for (const line of readFileSync(mine, 'utf8').split('\n')) {
        if (!line) continue;
        try {
          const event = validateEvent(JSON.parse(line));
          const bytes = Buffer.byteLength(line) + 1;
          this.#queue.push({ event, bytes });
          this.#bytes += bytes;
          this.#stats.recovered++;
        } catch {
          this.#stats.unreadable++;
        }
      }
    }
    if (claimed.length === 0) return;
    // Removed only once their events are in our own file.
    this.#rewrite();
    for (const c of claimed) rmSync(c, { force: true });
  }
}
