// Pod emulator: image layers built from this machine's Debian packages.
//
// A layer is a directory: `fs/` holds the image's own (small) files, copied into each container's
// root tmpfs; `binds` lists big read-only trees mounted into the root as they are (the host's /usr
// subtrees, the unpacked WordPress tree). Layers are built once per process and cached.

import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface LayerBind {
  /** Path inside the container. */
  readonly target: string;
  /** Path on this machine. */
  readonly source: string;
}

export interface Owner {
  readonly uid?: number;
  readonly gid?: number;
  readonly mode?: number;
}

/** Host /usr subtrees a Debian image sees; /usr/local and /usr/src belong to the image. */
const HOST_USR = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'libexec', 'share', 'include', 'games'];
/** Host /etc entries an image never gets from us (credentials of this machine). */
const HOST_ETC_EXCLUDED = ['shadow', 'shadow-', 'gshadow', 'gshadow-', 'ssh', 'sudoers', 'sudoers.d', 'mysql/debian.cnf', 'machine-id'];

export class Layer {
  readonly binds: LayerBind[] = [];
  readonly fsDir: string;

  constructor(readonly dir: string) {
    this.fsDir = path.join(dir, 'fs');
    fs.mkdirSync(this.fsDir, { recursive: true });
  }

  /** Path on this machine of a path inside the image. */
  at(p: string): string {
    return path.join(this.fsDir, p);
  }

  mkdir(p: string, owner: Owner = {}): void {
    const full = this.at(p);
    fs.mkdirSync(full, { recursive: true });
    this.own(p, owner);
  }

  own(p: string, { uid, gid, mode }: Owner): void {
    const full = this.at(p);
    if (uid !== undefined || gid !== undefined) fs.lchownSync(full, uid ?? -1, gid ?? -1);
    if (mode !== undefined) fs.chmodSync(full, mode);
  }

  /** chown -R (no dereference). */
  ownTree(p: string, uid: number, gid: number): void {
    execFileSync('chown', ['-R', '--no-dereference', `${uid}:${gid}`, this.at(p)]);
  }

  write(p: string, text: string, owner: Owner = {}): void {
    fs.mkdirSync(path.dirname(this.at(p)), { recursive: true });
    fs.writeFileSync(this.at(p), text);
    this.own(p, { mode: 0o644, ...owner });
  }

  /** COPY of a file from outside (e.g. a reference file), keeping its content byte for byte. */
  copyFile(source: string, p: string, owner: Owner = {}): void {
    fs.mkdirSync(path.dirname(this.at(p)), { recursive: true });
    fs.copyFileSync(source, this.at(p));
    this.own(p, owner);
  }

  symlink(target: string, p: string): void {
    fs.mkdirSync(path.dirname(this.at(p)), { recursive: true });
    fs.rmSync(this.at(p), { force: true, recursive: true });
    fs.symlinkSync(target, this.at(p));
  }

  /** Copy a host tree into the layer; `dereference` replaces symlinks by what they point to. */
  copyTree(source: string, p: string, dereference = false): void {
    fs.mkdirSync(path.dirname(this.at(p)), { recursive: true });
    execFileSync('cp', [dereference ? '-rL' : '-a', '--', source, this.at(p)]);
  }

  /** A big tree kept outside `fs/` and bind-mounted read-only at `p`. Returns its host path. */
  bigTree(p: string): string {
    const source = path.join(this.dir, 'trees', p);
    fs.mkdirSync(path.dirname(source), { recursive: true });
    this.mkdir(p); // mount point
    this.binds.push({ target: p, source });
    return source;
  }

  bindFromHost(p: string, source: string): void {
    this.mkdir(p);
    this.binds.push({ target: p, source });
  }
}

export interface ImageUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
  readonly shell: string;
}

/**
 * What every Debian/Ubuntu-based image has: a merged /usr from this machine's packages, /etc from
 * this machine (minus its credentials) with the image's users, and the usual writable directories.
 */
export function debianBase(layer: Layer, users: readonly ImageUser[]): void {
  for (const d of HOST_USR) {
    const source = path.join('/usr', d);
    if (fs.existsSync(source) && fs.statSync(source).isDirectory()) layer.bindFromHost(`/usr/${d}`, source);
  }
  for (const d of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    const host = path.join('/', d);
    if (fs.existsSync(host) && fs.lstatSync(host).isSymbolicLink()) layer.symlink(fs.readlinkSync(host), `/${d}`);
  }
  layer.mkdir('/usr/local/bin');
  layer.mkdir('/usr/local/sbin');
  layer.mkdir('/usr/src');
  layer.copyTree('/etc', '/etc');
  for (const e of HOST_ETC_EXCLUDED) fs.rmSync(layer.at(`/etc/${e}`), { recursive: true, force: true });
  // The image's users replace this machine's entries with the same name or id.
  const passwd = fs.readFileSync(layer.at('/etc/passwd'), 'utf8').split('\n').filter(l => {
    const [name, , uid] = l.split(':');
    return l && !users.some(u => u.name === name || String(u.uid) === uid);
  });
  const group = fs.readFileSync(layer.at('/etc/group'), 'utf8').split('\n').filter(l => {
    const [name, , gid] = l.split(':');
    return l && !users.some(u => u.name === name || String(u.gid) === gid);
  });
  layer.write('/etc/passwd', [...passwd, ...users.map(u => `${u.name}:x:${u.uid}:${u.gid}::${u.home}:${u.shell}`)].join('\n') + '\n');
  layer.write('/etc/group', [...group, ...users.map(u => `${u.name}:x:${u.gid}:`)].join('\n') + '\n');
  for (const d of ['/proc', '/dev', '/sys']) layer.mkdir(d, { mode: 0o755 });
  layer.mkdir('/tmp', { mode: 0o1777 });
  layer.mkdir('/var/tmp', { mode: 0o1777 });
  layer.mkdir('/run/lock', { mode: 0o1777 });
  layer.symlink('/run', '/var/run');
  layer.symlink('/run/lock', '/var/lock');
  layer.mkdir('/var/log');
  layer.mkdir('/var/lib');
  layer.mkdir('/var/cache');
  layer.mkdir('/root', { mode: 0o700 });
}

const cache = new Map<string, Layer>();
let cacheRoot: string | undefined;

/** The layer `key`, built by `build` the first time it is asked for in this process. */
export function cachedLayer(key: string, build: (layer: Layer) => void): Layer {
  const found = cache.get(key);
  if (found) return found;
  cacheRoot ??= fs.mkdtempSync(path.join(os.tmpdir(), 'pod-emulator-layers-'));
  const layer = new Layer(path.join(cacheRoot, key.replace(/[^A-Za-z0-9._-]/g, '_')));
  try {
    build(layer);
  } catch (e) {
    fs.rmSync(layer.dir, { recursive: true, force: true });
    throw e;
  }
  cache.set(key, layer);
  return layer;
}

/** Delete every cached layer (call once when a suite is done). */
export function removeLayers(): void {
  if (cacheRoot) fs.rmSync(cacheRoot, { recursive: true, force: true });
  cacheRoot = undefined;
  cache.clear();
}
