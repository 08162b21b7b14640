import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';

/** How one object changed between the previous dist/ and this render. */
export type ChangeKind = 'added' | 'removed' | 'changed';

/** One object that is not the same as before. */
export interface ObjectChange {
  readonly kind: ChangeKind;
  /** `Kind/namespace/name` (`Kind/name` for cluster-scoped objects). */
  readonly object: string;
  /** Why applying this change can lose data or orphan pods, when it can. */
  readonly danger?: string;
}

const MANIFEST = /\.k8s\.yaml$/;

/**
 * What `npm run synth` changes in dist/, like `terraform plan`: per site, the objects added, removed
 * and changed against the files already there, with the changes that can lose data or orphan pods
 * flagged. Sites are compared as they render, one at a time, so memory stays flat; a file whose
 * bytes did not change is not parsed.
 */
export class ChangeSummary {
  private readonly sites = new Map<string, ObjectChange[]>();

  /** @param previousDir the dist/ about to be replaced (it may not exist) */
  constructor(private readonly previousDir: string) {}

  /** Compare one rendered site (`<env>/<site>/<file>` paths) with the same folder before. */
  public addSite(site: string, files: ReadonlyArray<readonly [string, string]>) {
    const before = new Map<string, string>();
    const after = new Map<string, string>();
    const dir = path.join(this.previousDir, site);
    const previousFiles = fs.existsSync(dir) ? fs.readdirSync(dir).filter(f => MANIFEST.test(f)) : [];
    const rendered = files.filter(([rel]) => MANIFEST.test(rel));
    const renderedNames = new Set(rendered.map(([rel]) => path.basename(rel)));
    for (const [rel, text] of rendered) {
      const old = path.join(this.previousDir, rel);
      const oldText = fs.existsSync(old) ? fs.readFileSync(old, 'utf8') : '';
      if (oldText === text) continue;
      addObjects(before, oldText);
      addObjects(after, text);
    }
    for (const f of previousFiles.filter(f => !renderedNames.has(f))) addObjects(before, fs.readFileSync(path.join(dir, f), 'utf8'));
    this.sites.set(site, compare(before, after));
  }

  /** Every site folder of the previous tree that this render no longer has: all its objects removed. */
  public addRemovedSites() {
    for (const site of siteFolders(this.previousDir).filter(s => !this.sites.has(s))) {
      const before = new Map<string, string>();
      const dir = path.join(this.previousDir, site);
      for (const f of fs.readdirSync(dir).filter(f => MANIFEST.test(f))) addObjects(before, fs.readFileSync(path.join(dir, f), 'utf8'));
      this.sites.set(site, compare(before, new Map()));
    }
  }

  /** Changes by site, sites in render order, then removed ones. */
  public get changes(): ReadonlyMap<string, readonly ObjectChange[]> {
    return this.sites;
  }

  /** The summary as printed: changed sites with their objects, then a count of the unchanged. */
  public text(outDir: string): string {
    const changed = [...this.sites].filter(([, c]) => c.length > 0);
    const unchanged = this.sites.size - changed.length;
    const sign: Record<ChangeKind, string> = { added: '+', removed: '-', changed: '~' };
    const lines = [`Changes in ${outDir}/ against what was there:`];
    for (const [site, changes] of changed) {
      const count = (k: ChangeKind) => changes.filter(c => c.kind === k).length;
      lines.push(`  ${site}: ${count('added')} added, ${count('changed')} changed, ${count('removed')} removed`);
      for (const c of changes) lines.push(`    ${sign[c.kind]} ${c.object}${c.danger ? `  DANGER: ${c.danger}` : ''}`);
    }
    const dangers = changed.reduce((n, [, c]) => n + c.filter(x => x.danger).length, 0);
    lines.push(`  ${unchanged} site(s) unchanged${dangers ? `; ${dangers} dangerous change(s): review them before applying` : ''}`);
    return `${lines.join('\n')}\n`;
  }
}

/** `<env>/<site>` folders of a tree that hold manifests. */
function siteFolders(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root, { withFileTypes: true }).filter(e => e.isDirectory()).flatMap(env => fs.readdirSync(path.join(root, env.name), { withFileTypes: true })
    .filter(site => site.isDirectory() && fs.readdirSync(path.join(root, env.name, site.name)).some(f => MANIFEST.test(f)))
    .map(site => `${env.name}/${site.name}`)).sort();
}

/** Each document of a manifest file by its identity, as JSON with sorted keys (key order is no change). */
function addObjects(into: Map<string, string>, text: string) {
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJS();
    if (!o?.kind) continue;
    const id = [o.kind, o.metadata?.namespace, o.metadata?.name].filter(Boolean).join('/');
    into.set(id, canonical(o));
  }
}

function compare(before: Map<string, string>, after: Map<string, string>): ObjectChange[] {
  const changes: ObjectChange[] = [];
  for (const [id, json] of after) {
    const old = before.get(id);
    if (old === undefined) changes.push({ kind: 'added', object: id });
    else if (old !== json) changes.push({ kind: 'changed', object: id, danger: dangerOfChange(JSON.parse(old), JSON.parse(json)) });
  }
  for (const [id, json] of before) {
    if (!after.has(id)) changes.push({ kind: 'removed', object: id, danger: dangerOfRemoval(JSON.parse(json)) });
  }
  return changes.sort((a, b) => a.object.localeCompare(b.object));
}

/** JSON with the keys of every object sorted. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map(k => [k, v[k]])) : v));
}

const same = (a: unknown, b: unknown) => canonical(a) === canonical(b);

function dangerOfChange(before: any, after: any): string | undefined {
  if ((before.kind === 'PersistentVolumeClaim' || before.kind === 'PersistentVolume') && !same(before.spec, after.spec)) {
    return `its spec changed; most fields of a ${before.kind} are immutable, and replacing it loses or orphans the data`;
  }
  if (before.spec?.selector !== undefined && ['Deployment', 'StatefulSet'].includes(before.kind) && !same(before.spec.selector, after.spec?.selector)) {
    return 'its selector changed; selectors are immutable: the apply fails, and delete + create orphans the running pods';
  }
  if (before.kind === 'StatefulSet' && !same(before.spec?.volumeClaimTemplates, after.spec?.volumeClaimTemplates)) {
    return 'its volumeClaimTemplates changed; they are immutable, and recreating the set does not resize or move existing claims';
  }
  return undefined;
}

function dangerOfRemoval(before: any): string | undefined {
  if (['PersistentVolumeClaim', 'PersistentVolume', 'Namespace'].includes(before.kind)) {
    return `removing a ${before.kind} deletes the data in it unless its keep annotations hold`;
  }
  if (before.kind === 'StatefulSet') return 'its claims stay (retention policy Retain) but the database stops';
  return undefined;
}
