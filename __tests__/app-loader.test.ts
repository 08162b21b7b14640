// scripts/app.js, cdk8s.yaml's `app:`: a cached bundle is reused only while its inputs are the same,
// V8's code cache is used when it fits and rewritten when it does not, and worker threads run the
// same bundle. Each test builds a small project of its own with the real esbuild.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPO, tempDir } from './support/paths';

const APP = path.join(REPO, 'scripts', 'app.js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loader = require(APP) as {
  prepare(opts: { root: string; entry: string; cacheDir: string }): string | undefined;
};

let work: ReturnType<typeof tempDir>;
let root: string;
let cacheDir: string;
/** Writes a file of the project, stamped long ago: a file written while a build runs is not trusted (see the test). */
const write = (rel: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), text);
  fs.utimesSync(path.join(root, rel), 1e9, 1e9);
};
const prepare = () => loader.prepare({ root, entry: 'main.ts', cacheDir });
/** Runs the app as cdk8s.yaml does, in a node of its own: exit code, stdout, stderr. */
function runApp(): { status: number | null; stdout: string; stderr: string } {
  const code = `const r = require(${JSON.stringify(APP)}).runApp(${JSON.stringify({ root, entry: 'main.ts', cacheDir })}); if (r) console.error('code cache used: ' + r.codeCache); else process.exitCode = 1;`;
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const cacheFiles = () => fs.readdirSync(cacheDir).sort();
// Whether a bundle was written again: a build replaces the file, so a line added to it is gone
// (file times are too coarse for this: ext4 stamps with a clock of a few milliseconds).
const MARK = '\n// not rebuilt\n';
const mark = (bundle: string) => fs.appendFileSync(bundle, MARK);
const rebuilt = (bundle: string) => !fs.readFileSync(bundle, 'utf8').endsWith(MARK);
/** Whether `change` makes prepare() write the bundle again (same code, so under the same name). */
function rebuildsAfter(change: () => void): boolean {
  const bundle = prepare()!;
  mark(bundle);
  change();
  expect(prepare()).toBe(bundle);
  return rebuilt(bundle);
}

beforeEach(() => {
  work = tempDir('cdk8s-wp-loader-');
  root = work.dir;
  cacheDir = path.join(root, '.cdk8s-cache');
  write('package.json', '{ "name": "p", "private": true }\n');
  write('tsconfig.json', '{ "compilerOptions": { "strict": true } }\n');
  write('main.ts', "import { greeting } from './lib/greet';\nimport { dep } from 'dep';\nconsole.log(greeting() + ' ' + dep);\n");
  write('lib/greet.ts', "export const greeting = (): string => 'hello';\n");
  write('node_modules/dep/package.json', '{ "name": "dep", "main": "index.js" }\n');
  write('node_modules/dep/index.js', "exports.dep = 'dep-1';\n");
});
afterEach(() => work.cleanup());

describe('prepare', () => {
  test('builds once, then returns the same bundle without building while nothing changed', () => {
    const first = prepare()!;
    expect(path.basename(first)).toMatch(/^app-[0-9a-f]{16}\.js$/);
    mark(first);
    expect(prepare()).toBe(first);
    expect(rebuilt(first)).toBe(false);
    expect(runApp()).toEqual({ status: 0, stdout: 'hello dep-1\n', stderr: 'code cache used: false\n' });
    expect(rebuilt(first)).toBe(false);
  });

  test('an own file is compared by content: an edit of the same size with its old mtime is seen', () => {
    // write() stamps both versions with the same whole second.
    const first = prepare()!;
    write('lib/greet.ts', "export const greeting = (): string => 'howdy';\n");
    const second = prepare()!;
    expect(second).not.toBe(first);
    expect(runApp().stdout).toBe('howdy dep-1\n');
    // The old bundle and its code cache are gone; one bundle stays.
    expect(cacheFiles().filter(f => f.endsWith('.js'))).toEqual([path.basename(second)]);
  });

  test('an installed file is compared by size and mtime: touching it makes a new manifest', () => {
    const dep = path.join(root, 'node_modules', 'dep', 'index.js');
    expect(rebuildsAfter(() => fs.utimesSync(dep, new Date(2001, 1, 1), new Date(2001, 1, 1)))).toBe(true);
    write('node_modules/dep/index.js', "exports.dep = 'dep-2';\n");
    expect(runApp().stdout).toBe('hello dep-2\n');
  });

  test('an npm install rewrites node_modules/.package-lock.json: that alone builds again', () => {
    write('node_modules/.package-lock.json', '{ "lockfileVersion": 3 }\n');
    expect(rebuildsAfter(() => write('node_modules/.package-lock.json', '{ "lockfileVersion": 3, "packages": {} }\n'))).toBe(true);
  });

  test('a new file in a folder of the inputs can change what an import resolves to, so it rebuilds', () => {
    prepare();
    // esbuild tries .tsx before .ts.
    write('lib/greet.tsx', "export const greeting = (): string => 'shadowed';\n");
    expect(runApp().stdout).toBe('shadowed dep-1\n');
  });

  test('hidden entries of those folders are not compared: the CLI\'s folder and the spare tree come and go', () => {
    expect(rebuildsAfter(() => {
      fs.mkdirSync(path.join(root, '.cdk8s-out'));
      fs.mkdirSync(path.join(root, '.dist.spare'));
    })).toBe(false);
  });

  test('package.json and tsconfig.json count as inputs', () => {
    write('main.ts', "import * as m from 'dep';\nconsole.log('greeting' in m ? 'lib/greet.ts' : 'node_modules/dep');\n");
    expect(runApp().stdout).toBe('node_modules/dep\n');
    // tsconfig.json's paths now send the import of 'dep' to lib/greet.ts.
    write('tsconfig.json', '{ "compilerOptions": { "strict": true, "paths": { "dep": ["./lib/greet.ts"] } } }\n');
    expect(runApp().stdout).toBe('lib/greet.ts\n');
    expect(rebuildsAfter(() => write('package.json', '{ "name": "p", "private": true, "version": "2.0.0" }\n'))).toBe(true);
  });

  test('a deleted input or a deleted bundle means a new build', () => {
    const first = prepare()!;
    fs.rmSync(first);
    expect(prepare()).toBe(first);
    expect(fs.existsSync(first)).toBe(true);
    fs.rmSync(path.join(root, 'lib', 'greet.ts'));
    write('main.ts', "console.log('alone');\n");
    expect(runApp().stdout).toBe('alone\n');
  });

  test('an input written while esbuild ran (here: stamped in the future) is not trusted: the next run builds again', () => {
    const soon = Date.now() / 1000 + 3600;
    fs.utimesSync(path.join(root, 'lib', 'greet.ts'), soon, soon);
    const first = prepare()!;
    expect(runApp().stdout).toBe('hello dep-1\n');
    expect(fs.existsSync(path.join(cacheDir, 'manifest.json'))).toBe(false);
    mark(first);
    expect(prepare()).toBe(first);
    expect(rebuilt(first)).toBe(true);
  });

  test('a build error: esbuild says where, nothing runs, and the exit code is 1', () => {
    write('lib/greet.ts', "export const greeting = (): string => 'hello';\nexport const broken = (;\n");
    const r = runApp();
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('lib/greet.ts:2:');
    expect(r.stderr).not.toContain('code cache used');
    expect(fs.existsSync(path.join(cacheDir, 'manifest.json'))).toBe(false);
  });
});

describe('runBundle', () => {
  test('writes the code cache after the first run, uses it on the next, and replaces one V8 rejects', () => {
    const bundle = prepare()!;
    const v8 = bundle.replace(/\.js$/, '.v8');
    expect(runApp().stderr).toBe('code cache used: false\n');
    const size = fs.statSync(v8).size;
    expect(size).toBeGreaterThan(0);
    expect(runApp()).toEqual({ status: 0, stdout: 'hello dep-1\n', stderr: 'code cache used: true\n' });
    fs.writeFileSync(v8, Buffer.alloc(size, 7));
    expect(runApp()).toEqual({ status: 0, stdout: 'hello dep-1\n', stderr: 'code cache used: false\n' });
    expect(runApp().stderr).toBe('code cache used: true\n');
  });

  test('a worker thread started with the bundle\'s __filename runs the same bundle', () => {
    write('main.ts', [
      "import { Worker, isMainThread, parentPort } from 'worker_threads';",
      "import { greeting } from './lib/greet';",
      'if (isMainThread) {',
      "  const worker = new Worker(__filename);",
      "  worker.on('message', (m: string) => console.log('main got: ' + m));",
      '} else {',
      "  parentPort!.postMessage(greeting() + ' from the worker');",
      '}',
      '',
    ].join('\n'));
    expect(runApp()).toEqual({ status: 0, stdout: 'main got: hello from the worker\n', stderr: 'code cache used: false\n' });
  });
});
