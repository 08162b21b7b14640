import { App, Yaml } from 'cdk8s';
import { parseAllDocuments, stringify } from 'yaml';
import { loadEnvironment } from '../lib/config/load';
import { ExposureConfig, SiteConfig } from '../lib/config/schema';
import { WordPressChart } from '../lib/chart/wordpress-chart';
import { emitYaml } from '../lib/render/yaml-emitter';
import { exampleSites, variantSites } from './support/fixtures';

// emitYaml must write exactly what cdk8s's Yaml.stringify writes, and hand over to it whatever it
// does not write itself. The spy tells the two apart; `cdk8s` is the unspied original.
const cdk8s = Yaml.stringify.bind(Yaml);
let fallback: jest.SpyInstance;
beforeEach(() => {
  fallback = jest.spyOn(Yaml, 'stringify');
});
afterEach(() => fallback.mockRestore());

/** The documents of `text`, read back as YAML 1.1 (as cdk8s writes it). */
const readBack = (text: string) => parseAllDocuments(text, { version: '1.1' }).map(d => d.toJS());

// ---------------------------------------------------------------------------------------------
// Every object the charts produce.

const EXPOSURES: ExposureConfig[] = [
  { type: 'ingress' },
  { type: 'ingress', path: '/blog', tls: { issuer: 'letsencrypt-prod' } },
  { type: 'nodePort' },
  { type: 'loadBalancer' },
];

/** 60 sites (every value of each modulus below) whose settings vary with their number, loaded like a config file. */
const GENERATED = (() => {
  const sites: Record<string, SiteConfig> = {};
  for (let i = 0; i < 60; i++) {
    const exposure = EXPOSURES[i % EXPOSURES.length];
    sites[`site-${i}`] = {
      ...(i % 10 === 0 ? { namespace: `team-${i}` } : {}),
      wordpress: { replicas: 1 + (i % 3), debug: i % 2 === 0, tablePrefix: `wp${i}_` },
      // An empty setting leaves a trailing blank in my.cnf's block scalar.
      database: { config: { max_connections: String(100 + i), sql_mode: i % 3 ? 'STRICT_ALL_TABLES' : '' } },
      backup: i % 7 === 0 ? { enabled: false } : { schedule: `${i % 60} 3 * * *` },
      exposure: {
        ...exposure,
        ...(exposure.type === 'ingress' ? { host: `site-${i}.example.com` } : {}),
        ...(exposure.type === 'nodePort' ? { nodePort: 30000 + i } : {}),
      },
    };
  }
  return loadEnvironment('generated.yaml', stringify({ sites }));
})();

const SITES: Record<string, Array<{ label: string; objects: any[] }>> = {
  examples: exampleSites(),
  variants: variantSites(),
  generated: (GENERATED.environments[0] ? Object.entries(GENERATED.environments[0].sites) : []).map(([name, site]) => ({
    label: `generated/${name}`,
    objects: new WordPressChart(new App({ outdir: 'unused' }), name, { site }).toJson(),
  })),
};

test('the generated sites are a valid config', () => {
  expect(GENERATED.errors).toEqual([]);
  expect(SITES.generated).toHaveLength(60);
});

describe.each(Object.keys(SITES))('%s', group => {
  test('every object and every manifest file, byte for byte, without falling back', () => {
    for (const { label, objects } of SITES[group]) {
      const expected = objects.map(o => cdk8s(o));
      expect({ label, yaml: objects.map(o => emitYaml(o)) }).toEqual({ label, yaml: expected });
      // A file is its objects joined by `---` lines, as in Yaml.stringify(...objects).
      expect({ label, yaml: emitYaml(...objects) }).toEqual({ label, yaml: expected.join('---\n') });
    }
    expect(fallback).not.toHaveBeenCalled();
  });

  test('reads back as the same objects', () => {
    // Parsing costs 20 ms a site: every tenth generated site (their structure repeats) is enough.
    for (const { label, objects } of SITES[group].filter((_, i) => group !== 'generated' || i % 10 === 0)) {
      expect({ label, objects: readBack(emitYaml(...objects)) }).toEqual({ label, objects });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Tricky scalars, in every position: map value, map key, sequence item, nested, top-level key.

const TRICKY_STRINGS = [
  '', 'yes', 'no', 'on', 'off', 'y', 'N', 'null', 'Null', '~', 'true', 'False',
  '1e3', 'e5', '0x1F', '0o17', '0b101', '017', '1_000', '12:30', '1:20:30.5', '.5', '-.inf', '.nan', '+1',
  '2001-12-14', '2001-12-14 21:59:43.10 -5',
  '-', '?', '- item', '? x', ':', ': ', 'a: b', 'a:b', '#x', 'a #b', 'a#b', ' leading', 'trailing ', 'trailing:',
  '"', "'", 'it\'s "both"', 'say "hi"', "it's", '\\', '\\n', '\t', 'a\tb', 'tab at end\t',
  '*', '&', '!', '%', '@', '`', '{', '}', '[', ']', ',', '|', '>', '---', '--- x', '...', '%YAML',
  'line\n', 'a\nb', 'a\nb\n', 'a\nb\n\n', '\n', '\n\n', '\na', '  indented\nsecond', '\n  indented after an empty line',
  'trailing spaces  \nnext', 'a blank line of spaces at the end\n  \n', 'tab\tinside\nline', '#!/bin/sh\nset -eu\n', 'key: value\n- item\n', '---\nnot a document\n',
  'héllo', '日本語', '\u00a0non-breaking', 'x'.repeat(5000), 'word '.repeat(400).trim(),
];
const OTHER_SCALARS = [0, -1, 1.5, 1e21, 1e-7, -0, 123456789012, NaN, Infinity, -Infinity, true, false, null];

/** Documents placing `value` everywhere a scalar can stand. */
function placements(value: unknown): unknown[] {
  const docs: unknown[] = [{ value }, { list: [value, [value], { nested: value }] }, [value, { deeper: { still: [value] } }]];
  // Keys with line breaks or over 1024 characters are left to Yaml.stringify (below).
  if (typeof value === 'string' && !value.includes('\n') && value.length <= 1024) docs.push({ [value]: 'v', outer: { [value]: [value] } }, [{ [value]: 1 }]);
  return docs;
}

test.each([...TRICKY_STRINGS, ...OTHER_SCALARS].map(v => [JSON.stringify(v).slice(0, 40), v]))('scalar %s', (_, value) => {
  const docs = placements(value);
  for (const doc of docs) expect(emitYaml(doc)).toBe(cdk8s(doc));
  expect(emitYaml(...docs)).toBe(cdk8s(...docs));
  expect(fallback).not.toHaveBeenCalled();
  expect(readBack(emitYaml(...docs))).toEqual(docs);
});

test('undefined as cdk8s writes it: null in maps and sequences, an empty document on its own', () => {
  const docs = [{ a: undefined, b: [undefined, 1], c: null }, undefined, { d: 1 }, undefined];
  expect(emitYaml(...docs)).toBe(cdk8s(...docs));
});

test('empty collections', () => {
  const doc = { map: {}, list: [], both: [{}, [], { inner: {} }], nested: { deeper: [] } };
  expect(emitYaml(doc, {}, [])).toBe(cdk8s(doc, {}, []));
  expect(fallback).not.toHaveBeenCalled();
});

// ---------------------------------------------------------------------------------------------
// What it leaves to Yaml.stringify: the same text, written by cdk8s.

const shared = { reused: true };
const FALLS_BACK: Record<string, unknown> = {
  'control character': { value: 'bell\x07' },
  'carriage return': { value: 'a\r\nb' },
  'DEL': { value: '\x7f' },
  'lone surrogate': { value: '\ud800' },
  'emoji (a surrogate pair)': { value: 'emoji 😀' },
  'blanks after the last line break': { value: 'ends in spaces\n  ' },
  'merge key': { '<<': { a: 1 } },
  'the string <<': { value: '<<' },
  'key with a line break': { 'two\nlines': 1 },
  'key over 1024 characters': { ['k'.repeat(1100)]: 1 },
  'object reached twice (anchor and alias)': { a: shared, b: shared },
  'Date': { at: new Date(0) },
  'Map': { m: new Map([['a', 1]]) },
  'top-level scalar': 'just text',
};

test.each(Object.entries(FALLS_BACK))('%s: falls back to Yaml.stringify', (_, doc) => {
  expect(emitYaml({ before: 1 }, doc)).toBe(cdk8s({ before: 1 }, doc));
  expect(fallback).toHaveBeenCalledTimes(1);
});

// ---------------------------------------------------------------------------------------------
// Random documents over an alphabet of YAML's special characters and words, from a fixed seed.

test('3000 random documents, byte for byte', () => {
  const pieces = ['a', 'Z', ' ', '  ', '\n', '\n\n', '\t', ':', ': ', '#', ' #', '-', '- ', '?', '---', '...', '%', '@', '`',
    '"', "'", '{', '}', '[', ']', ',', '&', '*', '!', '|', '>', '~', 'null', 'yes', 'No', 'on', '0', '1', '07', '0x1F',
    '1e3', '.5', '.inf', '2001-12-14', '12:30', '<<', 'é', '\u2028', '\u00a0', '\x01', '\\', 'e5', '+'];
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)];
  const text = () => Array.from({ length: Math.floor(random() * 5) }, () => pick(pieces)).join('');
  const value = (depth: number): unknown => {
    const r = random();
    if (depth > 3 || r < 0.5) return random() < 0.8 ? text() : pick<unknown>([0, -1, 1.5, 1e21, -0, NaN, true, false, null, undefined]);
    const n = Math.floor(random() * 4);
    if (r < 0.75) return Array.from({ length: n }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: n }, () => [text(), value(depth + 1)]));
  };
  const docs = Array.from({ length: 3000 }, () => Object.fromEntries(Array.from({ length: 1 + Math.floor(random() * 4) }, () => [text(), value(0)])));
  for (const doc of docs) expect(emitYaml(doc)).toBe(cdk8s(doc));
  // Most of them written here rather than handed over, or this test would prove little.
  expect(fallback.mock.calls.length).toBeLessThan(docs.length / 2);
});
