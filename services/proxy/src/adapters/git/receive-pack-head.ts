import { PktLineError, readPkt } from './pkt-line.js';

/** One ref update command of a push. */
export interface RefCommand {
  readonly old: string;
  readonly new: string;
  readonly ref: string;
}

/** The pkt-line part of a receive-pack request, before the pack. */
export interface ReceivePackHead {
  readonly commands: readonly RefCommand[];
  readonly capabilities: readonly string[];
  readonly pushOptions: readonly string[];
  /** Shallow boundaries the client declared (pushing from a shallow clone). */
  readonly shallow: readonly string[];
  /** Byte offset of the pack in the body (= body length when there is none). */
  readonly packOffset: number;
}

export interface HeadLimits {
  /** Bytes the command section may take (refused beyond: the head is held in memory). */
  maxHeadBytes: number;
  maxCommands: number;
}

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
// receive-pack itself refuses names outside refs/; refusing odd names here keeps policy's view and git's the same.
const REF = /^refs\/[\x21-\x7e]+$/;
const BAD_REF = /\.\.|\/\/|\/$|\.lock$|\.$|[~^:?*[\\]|@\{|\/\./;

function parseCommand(line: string, index: number): RefCommand {
  const parts = line.split(' ');
  if (parts.length !== 3) throw new PktLineError(`malformed ref update command #${index + 1}: expected "<old> <new> <ref>"`);
  const [old, neu, ref] = parts as [string, string, string];
  if (!SHA.test(old) || !SHA.test(neu)) throw new PktLineError(`malformed ref update command #${index + 1}: object names must be hex`);
  if (old.length !== neu.length) throw new PktLineError(`malformed ref update command #${index + 1}: mixed object formats`);
  if (!REF.test(ref) || BAD_REF.test(ref)) throw new PktLineError(`ref update command #${index + 1} names an invalid ref`);
  return { old, new: neu, ref };
}

/**
 * Incremental parser of the head of a receive-pack request body: `shallow`
 * lines, the commands (capabilities after NUL on the first), a flush, the
 * push options (when the `push-options` capability was asked for) and
 * their flush. Only the head is buffered; `feed` returns true once it is
 * complete, and the rest of the body (the pack) is never held here.
 */
export class ReceivePackHeadParser {
  readonly #limits: HeadLimits;
  #buf: Buffer = Buffer.alloc(0);
  #offset = 0;
  #state: 'commands' | 'options' | 'done' = 'commands';
  readonly #commands: RefCommand[] = [];
  readonly #shallow: string[] = [];
  readonly #options: string[] = [];
  #caps: string[] = [];

  constructor(limits: HeadLimits) {
    this.#limits = limits;
  }

  get done(): boolean {
    return this.#state === 'done';
  }

  /** Feeds the next body bytes; true once the head is complete. Throws PktLineError for a malformed head. */
  feed(chunk: Buffer): boolean {
    if (this.done) return true;
    // Only the unread tail is kept: at most one partial packet (< 64 KiB) plus this chunk.
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    let at = 0;
    for (;;) {
      const p = readPkt(this.#buf, at);
      if (!p) break;
      at += p.size;
      this.#offset += p.size;
      if (this.#offset > this.#limits.maxHeadBytes) throw new PktLineError(`receive-pack commands exceed ${this.#limits.maxHeadBytes} bytes`);
      if (p.type === 'flush') {
        if (this.#state === 'commands') {
          if (this.#commands.length === 0) throw new PktLineError('receive-pack request holds no ref update command');
          this.#state = this.#caps.includes('push-options') ? 'options' : 'done';
        } else {
          this.#state = 'done';
        }
        if (this.done) {
          this.#buf = Buffer.alloc(0);
          return true;
        }
        continue;
      }
      if (p.type !== 'data') throw new PktLineError('malformed receive-pack request: unexpected delimiter packet');
      this.#line(p.payload);
    }
    this.#buf = at === 0 ? this.#buf : Buffer.from(this.#buf.subarray(at));
    return false;
  }

  #line(payload: Buffer): void {
    let text = payload.toString('latin1');
    if (text.endsWith('\n')) text = text.slice(0, -1);
    if (this.#state === 'options') {
      this.#options.push(text);
      return;
    }
    if (text.startsWith('shallow ')) {
      const sha = text.slice(8);
      if (this.#commands.length > 0 || !SHA.test(sha)) throw new PktLineError('malformed shallow line in receive-pack request');
      this.#shallow.push(sha);
      return;
    }
    if (text.startsWith('push-cert')) throw new PktLineError('signed pushes (push certificates) are not supported by the gateway');
    if (this.#commands.length === 0) {
      const nul = text.indexOf('\0');
      if (nul !== -1) {
        this.#caps = text
          .slice(nul + 1)
          .split(' ')
          .filter(Boolean);
        text = text.slice(0, nul);
      }
    } else if (text.includes('\0')) {
      throw new PktLineError('malformed receive-pack request: capabilities after the first command');
    }
    if (this.#commands.length >= this.#limits.maxCommands) throw new PktLineError(`a push may update at most ${this.#limits.maxCommands} refs`);
    this.#commands.push(parseCommand(text, this.#commands.length));
  }

  /** The parsed head; call once `done`. */
  result(): ReceivePackHead {
    if (!this.done) throw new PktLineError('receive-pack request ended before its commands were complete');
    return { commands: this.#commands, capabilities: this.#caps, pushOptions: this.#options, shallow: this.#shallow, packOffset: this.#offset };
  }
}

/** True when the object name is all zeros (ref created / deleted). */
export function isZeroSha(sha: string): boolean {
  return /^0+$/.test(sha);
}
