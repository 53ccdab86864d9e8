import { type FSWatcher, watch } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';

/**
 * A file read on demand and re-read when it changed: fs.watch marks it dirty
 * as soon as the kernel reports a change, and every read also compares
 * stat (mtime, ctime, size, inode) as a fallback, since watches are lost when
 * a mounted Kubernetes secret swaps its `..data` symlink or on network file
 * systems. No restart is needed to pick up a rotated credential.
 */
export class FileSource {
  readonly path: string;
  private cached: { stamp: string; data: Buffer } | undefined;
  private dirty = true;
  private watcher: FSWatcher | undefined;

  constructor(path: string) {
    this.path = path;
    this.rewatch();
  }

  /** Current contents. Throws the fs error (ENOENT, EACCES, …) — callers wrap it without the contents. */
  async read(): Promise<Buffer> {
    const st = await stat(this.path);
    const stamp = `${st.mtimeMs}:${st.ctimeMs}:${st.size}:${st.ino}`;
    if (!this.dirty && this.cached?.stamp === stamp) return this.cached.data;
    this.dirty = false;
    const data = await readFile(this.path);
    this.cached = { stamp, data };
    // The watch may have died with a replaced inode; watch the new one.
    this.rewatch();
    return data;
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  private rewatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
    try {
      const w = watch(this.path, { persistent: false }, () => {
        this.dirty = true;
      });
      w.on('error', () => {
        this.dirty = true;
      });
      this.watcher = w;
    } catch {
      // Missing file: the stat check on each read covers it until it appears.
      this.dirty = true;
    }
  }
}
