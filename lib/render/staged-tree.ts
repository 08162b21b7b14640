import * as fs from 'fs';
import * as path from 'path';

/**
 * A tree of files written into a staging folder beside `outDir` as they come, then swapped in
 * whole by renames: until `commit()`, `outDir` is untouched, so a failure halfway leaves it as it
 * was. Writing as the files come, rather than holding them all until the end, keeps memory flat.
 */
export class StagedTree {
  private readonly staging: string;
  private readonly made = new Set<string>();
  private count = 0;

  /** @param outDir the folder to replace; its parent must exist */
  public constructor(private readonly outDir: string) {
    this.staging = `${outDir}.staging-${process.pid}`;
    fs.rmSync(this.staging, { recursive: true, force: true });
    fs.mkdirSync(this.staging);
  }

  /** Files written so far. */
  public get files(): number {
    return this.count;
  }

  /** Writes files, by path relative to `outDir`, into the staging folder. */
  public write(files: Iterable<readonly [string, string]>) {
    for (const [rel, content] of files) {
      const target = path.join(this.staging, rel);
      const parent = path.dirname(target);
      if (!this.made.has(parent)) {
        fs.mkdirSync(parent, { recursive: true });
        this.made.add(parent);
      }
      fs.writeFileSync(target, content);
      this.count++;
    }
  }

  /**
   * Replaces `outDir` with exactly the files written. If a rename fails, the previous tree is put
   * back in place and the error rethrown; the staging folder is gone either way.
   */
  public commit() {
    const previous = `${this.outDir}.previous-${process.pid}`;
    try {
      const hadPrevious = fs.existsSync(this.outDir);
      if (hadPrevious) fs.renameSync(this.outDir, previous);
      try {
        fs.renameSync(this.staging, this.outDir);
      } catch (e) {
        if (hadPrevious) fs.renameSync(previous, this.outDir);
        throw e;
      }
      if (hadPrevious) fs.rmSync(previous, { recursive: true, force: true });
    } finally {
      this.discard();
    }
  }

  /** Removes the staging folder and leaves `outDir` as it was. */
  public discard() {
    fs.rmSync(this.staging, { recursive: true, force: true });
  }
}

/**
 * Replaces `outDir` with exactly `files` (see `StagedTree`). If a write or a rename fails, the
 * staging folder is removed, the previous tree is left (or put back) in place, and the error is
 * rethrown.
 */
export function publish(files: Iterable<readonly [string, string]>, outDir: string) {
  const tree = new StagedTree(outDir);
  try {
    tree.write(files);
  } catch (e) {
    tree.discard();
    throw e;
  }
  tree.commit();
}
