import * as fs from 'fs';
import * as path from 'path';

/**
 * A tree of files written into a staging folder beside `outDir` as they come, then swapped in
 * whole by renames: until `commit()`, `outDir` is untouched, so a failure halfway leaves it as it
 * was. Writing as the files come, rather than holding them all until the end, keeps memory flat.
 *
 * The tree replaced by a commit is kept beside `outDir` as the spare (`.<outDir>.spare`), and the
 * next StagedTree starts from it: it rewrites only the files whose bytes differ, removes those no
 * longer rendered, and leaves the rest, so re-rendering many unchanged sites creates and deletes
 * almost no files. On ext4 that matters more than the bytes: it skips inodes freed in the last
 * minutes when it allocates new ones, so each run that deleted the previous tree's 4,000 files made
 * every file the next one created cost about 1 ms instead of 0.05 ms (BENCHMARKS.md). The spare is a
 * cache: deleting it costs one slower run, and a run that finds it taken (another run in the same
 * folder) starts from an empty folder.
 */
export class StagedTree {
  private readonly staging: string;
  private readonly spare: string;
  /** Whether the staging folder started as the spare, holding an earlier tree to reconcile. */
  private readonly recycled: boolean;
  /** Folders known to exist in the staging folder, as real folders. */
  private readonly made = new Set<string>();
  /** Every file written (or found already right), by full path. */
  private readonly kept = new Set<string>();

  /** @param outDir the folder to replace; its parent must exist */
  public constructor(private readonly outDir: string) {
    this.staging = `${outDir}.staging-${process.pid}`;
    this.spare = path.join(path.dirname(outDir), `.${path.basename(outDir)}.spare`);
    fs.rmSync(this.staging, { recursive: true, force: true });
    // Only a real folder is a spare: a link there would have this tree written (and pruned) through it.
    if (fs.lstatSync(this.spare, { throwIfNoEntry: false })?.isDirectory() === false) fs.rmSync(this.spare, { force: true });
    this.recycled = takeFolder(this.spare, this.staging);
    if (!this.recycled) fs.mkdirSync(this.staging);
    this.made.add(this.staging);
  }

  /** Files written so far. */
  public get files(): number {
    return this.kept.size;
  }

  /** Writes files, by path relative to `outDir`, into the staging folder. */
  public write(files: Iterable<readonly [string, string]>) {
    for (const [rel, content] of files) {
      const target = path.join(this.staging, rel);
      this.folder(path.dirname(target));
      const found = this.recycled ? fs.lstatSync(target, { throwIfNoEntry: false }) : undefined;
      // A recycled folder may hold a folder or link by that name: replace it, never write through it.
      if (found && !found.isFile()) fs.rmSync(target, { recursive: true, force: true });
      // A regular file is rewritten in place (same inode), and only when its bytes differ.
      if (!found?.isFile() || found.size !== Buffer.byteLength(content) || fs.readFileSync(target, 'utf8') !== content) fs.writeFileSync(target, content);
      this.kept.add(target);
    }
  }

  /**
   * Replaces `outDir` with exactly the files written, and keeps the tree it replaced as the spare.
   * If a rename fails, the previous tree is put back in place and the error rethrown; the staging
   * folder is gone either way.
   */
  public commit() {
    if (this.recycled) this.prune(this.staging);
    const previous = `${this.outDir}.previous-${process.pid}`;
    const hadPrevious = fs.existsSync(this.outDir);
    try {
      if (hadPrevious) fs.renameSync(this.outDir, previous);
      try {
        fs.renameSync(this.staging, this.outDir);
      } catch (e) {
        if (hadPrevious) fs.renameSync(previous, this.outDir);
        throw e;
      }
    } catch (e) {
      this.discard();
      throw e;
    }
    if (hadPrevious && !takeFolder(previous, this.spare)) fs.rmSync(previous, { recursive: true, force: true });
  }

  /** Leaves `outDir` as it was; the staging folder becomes the spare again (or is removed). */
  public discard() {
    if (!fs.existsSync(this.staging) || takeFolder(this.staging, this.spare)) return;
    fs.rmSync(this.staging, { recursive: true, force: true });
  }

  /** Makes `dir` (inside the staging folder) a real folder, replacing a file or link there. */
  private folder(dir: string) {
    if (this.made.has(dir)) return;
    this.folder(path.dirname(dir));
    // A fresh staging folder holds only what this tree made: nothing to look at first.
    const stat = this.recycled ? fs.lstatSync(dir, { throwIfNoEntry: false }) : undefined;
    if (stat && !stat.isDirectory()) fs.rmSync(dir, { force: true });
    if (!stat?.isDirectory()) fs.mkdirSync(dir);
    this.made.add(dir);
  }

  /** Removes whatever the recycled tree holds that this render did not write. */
  private prune(dir: string) {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && this.made.has(full)) this.prune(full);
      else if (!(entry.isFile() && this.kept.has(full))) fs.rmSync(full, { recursive: true, force: true });
    }
  }
}

/** Renames `from` to `to` if `from` exists and `to` does not (another run may race for either); whether it did. */
function takeFolder(from: string, to: string): boolean {
  if (fs.existsSync(to)) return false;
  try {
    fs.renameSync(from, to);
    return true;
  } catch (e) {
    if (['ENOENT', 'ENOTEMPTY', 'EEXIST'].includes((e as NodeJS.ErrnoException).code ?? '')) return false;
    throw e;
  }
}

/**
 * Replaces `outDir` with exactly `files` (see `StagedTree`). If a write or a rename fails, the
 * previous tree is left (or put back) in place, and the error is rethrown.
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
