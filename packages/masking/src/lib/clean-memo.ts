/** Strings longer than this are not remembered (they rarely repeat, and would hold memory). */
const MAX_LENGTH = 256;
/** Entries per generation; a full memo starts over (values that repeat are back after one event). */
const MAX_ENTRIES = 8192;

/**
 * Strings a masker scanned and found nothing in, so a repeat is not scanned again (a masker is
 * immutable: the same string gets the same answer). Only clean strings go in — never one that held a
 * secret or a detector hit — and at most MAX_ENTRIES of at most MAX_LENGTH characters.
 */
export class CleanMemo {
  #set = new Set<string>();

  has(s: string): boolean {
    return s.length <= MAX_LENGTH && this.#set.has(s);
  }

  add(s: string): void {
    if (s.length > MAX_LENGTH) return;
    if (this.#set.size >= MAX_ENTRIES) this.#set = new Set();
    this.#set.add(s);
  }
}
