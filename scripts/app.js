#!/usr/bin/env node
// cdk8s.yaml's `app:`. Bundles main.ts with everything it loads (lib/, the generated validator,
// cdk8s, cdk8s-plus-27, constructs, yaml) into one file, kept in a cache folder while none of its
// inputs changes, and runs it with V8's code cache: what it compiled last time is not compiled
// again. Against bundling main.ts alone on every run and loading 210 modules from node_modules,
// that saves the bundling (45 ms) and most of the loading (0.15 s); BENCHMARKS.md has the figures.
// Plain JavaScript: a TypeScript loader would cost more than everything it saves.
//
// The cache is `.cdk8s-cache/` (or $CDK8S_WORDPRESS_CACHE_DIR). A bundle is reused only when every
// input esbuild read is as it was: the project's own files by content, files under node_modules
// by size and modification time, the folders of the project's own inputs by their listing (a new
// file there may change what an import resolves to), package.json, tsconfig.json and this script
// by content, esbuild's version, and npm's record of what it installed (node_modules/.package-lock.json).
// Deleting the folder is always safe.
'use strict';
const { spawnSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const Module = require('module');
const path = require('path');
const vm = require('vm');
const { isMainThread } = require('worker_threads');

/** Set in the main thread for the render worker (lib/render/render-sites.ts), which runs this script too. */
const BUNDLE_ENV = 'CDK8S_WORDPRESS_BUNDLE';
const MANIFEST = 'manifest.json';
/**
 * What the bundle depends on besides the inputs esbuild's metafile lists: resolution settings,
 * esbuild, and npm's record of node_modules, which every `npm install` or `npm ci` rewrites.
 */
const SETTINGS = ['package.json', 'tsconfig.json', 'node_modules/esbuild/package.json', 'node_modules/.package-lock.json'];

const sha1 = data => crypto.createHash('sha1').update(data).digest('hex');
const ownFile = rel => !rel.split('/').includes('node_modules');

/** How an input is recognised: content for the project's own files, size and mtime for installed ones. */
function fingerprint(root, rel) {
  const file = path.join(root, rel);
  try {
    if (ownFile(rel)) return sha1(fs.readFileSync(file));
    const s = fs.statSync(file, { bigint: true });
    return `${s.size}:${s.mtimeNs}`;
  } catch {
    return 'missing';
  }
}

/** A folder's entries, but not the hidden ones: the CLI's `.cdk8s-out/`, `.dist.spare/` and this cache come and go in the root. */
function listing(root, dir) {
  try {
    return fs.readdirSync(path.join(root, dir)).filter(name => !name.startsWith('.')).sort().join('\n');
  } catch {
    return 'missing';
  }
}

/** Everything a bundle depends on, as recorded next to it and compared on the next run. */
function inputsOf(root, files) {
  const dirs = [...new Set(files.filter(ownFile).map(rel => path.posix.dirname(rel)))].sort();
  return {
    script: sha1(fs.readFileSync(__filename)),
    settings: SETTINGS.map(rel => [rel, fingerprint(root, rel)]),
    files: files.map(rel => [rel, fingerprint(root, rel)]),
    dirs: dirs.map(dir => [dir, sha1(listing(root, dir))]),
  };
}

/** Whether nothing the recorded bundle was built from has changed (the first difference stops the check). */
function unchanged(root, recorded) {
  if (recorded.script !== sha1(fs.readFileSync(__filename))) return false;
  for (const [rel, print] of [...recorded.settings, ...recorded.files]) if (fingerprint(root, rel) !== print) return false;
  for (const [dir, print] of recorded.dirs) if (sha1(listing(root, dir)) !== print) return false;
  return true;
}

function readManifest(cacheDir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(cacheDir, MANIFEST), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Written to a temporary name first: a concurrent run reads the old file or the new one, never half of one. */
function writeAtomically(file, data) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/**
 * Bundles `entry` of `root` into `cacheDir` and records its inputs; removes older bundles there.
 * @returns the bundle's path, or undefined when esbuild failed (it has printed why)
 */
function build(root, entry, cacheDir) {
  fs.mkdirSync(cacheDir, { recursive: true });
  const [out, meta] = ['js', 'json'].map(ext => path.join(cacheDir, `build-${process.pid}.${ext}`));
  // The binary, not esbuild's JavaScript API: buildSync took 0.64 s here against 0.30 s.
  const esbuild = path.join(path.dirname(require.resolve('esbuild/package.json')), 'bin', 'esbuild');
  const started = Date.now();
  const r = spawnSync(esbuild, [entry, '--bundle', '--platform=node', '--target=node20', '--log-level=warning',
    `--outfile=${out}`, `--metafile=${meta}`], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    for (const f of [out, meta]) fs.rmSync(f, { force: true });
    if (r.error) console.error(`esbuild could not run: ${r.error.message}`);
    return undefined;
  }
  const code = fs.readFileSync(out);
  const inputs = Object.keys(JSON.parse(fs.readFileSync(meta, 'utf8')).inputs).sort();
  fs.rmSync(meta);
  const name = `app-${sha1(code).slice(0, 16)}.js`;
  fs.renameSync(out, path.join(cacheDir, name));
  // An input written while esbuild ran may be in the bundle as it was before: then the recorded
  // fingerprint would not be of what was bundled, so none is recorded and the next run builds again.
  // (The margin covers the coarse clock file times are stamped with.)
  const racing = [...SETTINGS, ...inputs].some(rel => (fs.statSync(path.join(root, rel), { throwIfNoEntry: false })?.mtimeMs ?? 0) > started - 50);
  if (racing) fs.rmSync(path.join(cacheDir, MANIFEST), { force: true });
  else writeAtomically(path.join(cacheDir, MANIFEST), JSON.stringify({ bundle: name, inputs: inputsOf(root, inputs) }));
  const stem = name.slice(0, -'.js'.length);
  for (const f of fs.readdirSync(cacheDir)) {
    if (/^app-[0-9a-f]{16}\.(js|v8)$/.test(f) && !f.startsWith(`${stem}.`)) fs.rmSync(path.join(cacheDir, f), { force: true });
  }
  return path.join(cacheDir, name);
}

/**
 * The bundle to run for `entry`: the cached one when nothing it was built from changed, else a new one.
 * @returns its path, or undefined when the build failed
 */
function prepare({ root, entry, cacheDir }) {
  const recorded = readManifest(cacheDir);
  if (recorded && fs.existsSync(path.join(cacheDir, recorded.bundle)) && unchanged(root, recorded.inputs)) return path.join(cacheDir, recorded.bundle);
  return build(root, entry, cacheDir);
}

/**
 * Runs a bundle as a CommonJS module, with V8's code cache from `<bundle>.v8`. With `refresh`, a
 * missing or rejected cache is written afterwards, so that it holds the functions the run compiled.
 * `__filename` in the bundle is `workerScript`, the file a worker thread of the bundle starts.
 * @returns whether V8 used the cache it was given
 */
function runBundle(bundle, { refresh, workerScript }) {
  const cacheFile = bundle.replace(/\.js$/, '.v8');
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(fs.readFileSync(bundle, 'utf8')), { filename: bundle, cachedData });
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, Module.createRequire(bundle), module, workerScript, path.dirname(workerScript));
  const used = cachedData !== undefined && !script.cachedDataRejected;
  if (refresh && !used) writeAtomically(cacheFile, script.createCachedData());
  return used;
}

/**
 * The main thread's part: prepares the bundle of `entry`, then runs it; its worker threads run this
 * script, which runs the same bundle.
 * @returns undefined when the bundle could not be built (esbuild has printed why), else whether V8 used its code cache
 */
function runApp({ root, entry, cacheDir }) {
  const bundle = prepare({ root, entry, cacheDir });
  if (!bundle) return undefined;
  process.env[BUNDLE_ENV] = bundle;
  return { codeCache: runBundle(bundle, { refresh: true, workerScript: __filename }) };
}

if (require.main === module) {
  if (!isMainThread) {
    // A worker of the bundle: the main thread has just checked it.
    runBundle(process.env[BUNDLE_ENV], { refresh: false, workerScript: __filename });
  } else {
    const root = path.resolve(__dirname, '..');
    const cacheDir = path.resolve(root, process.env.CDK8S_WORDPRESS_CACHE_DIR || '.cdk8s-cache');
    if (!runApp({ root, entry: 'main.ts', cacheDir })) process.exitCode = 1;
  }
}

module.exports = { prepare, runBundle, runApp };
