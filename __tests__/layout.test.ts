// lib/ is layered: render → chart → config → constructs → k8s, and below them the generated CRD
// constructs in imports/ (outside lib/, written by `cdk8s import`). A module may import from its own
// folder or a folder below it, never above, so each folder can be read without the ones above it.
import * as fs from 'fs';
import * as path from 'path';
import { REPO } from './support/fixtures';

const LAYERS = ['render', 'chart', 'config', 'constructs', 'k8s'];
const LIB = path.join(REPO, 'lib');

function modules(): string[] {
  return LAYERS.flatMap(layer => fs.readdirSync(path.join(LIB, layer))
    .filter(f => f.endsWith('.ts'))
    .map(f => path.join(LIB, layer, f)));
}

const IMPORTS = path.join(REPO, 'imports');

function layerOf(file: string): number {
  if (file.startsWith(IMPORTS + path.sep)) return LAYERS.length;
  return LAYERS.indexOf(path.relative(LIB, file).split(path.sep)[0]);
}

test('lib/ holds only the layer folders and the index', () => {
  const entries = fs.readdirSync(LIB, { withFileTypes: true }).map(e => (e.isDirectory() ? `${e.name}/` : e.name)).sort();
  expect(entries).toEqual([...LAYERS.map(l => `${l}/`), 'index.ts'].sort());
});

test.each(modules().map(m => [path.relative(REPO, m), m]))('%s imports only its own layer or lower ones', (_, file) => {
  const source = fs.readFileSync(file, 'utf8');
  const upward: string[] = [];
  for (const [, spec] of source.matchAll(/from '(\.[^']*)'/g)) {
    const target = path.resolve(path.dirname(file), spec);
    if (target === LIB || layerOf(target) < layerOf(file)) upward.push(spec);
  }
  expect(upward).toEqual([]);
});

test('the generated imports/ modules import nothing of lib/', () => {
  for (const f of fs.readdirSync(IMPORTS).filter(x => x.endsWith('.ts'))) {
    const source = fs.readFileSync(path.join(IMPORTS, f), 'utf8');
    expect([f, [...source.matchAll(/from '(\.[^']*)'/g)].map(m => m[1])]).toEqual([f, []]);
  }
});
