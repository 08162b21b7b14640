/**
 * Strict Kubernetes manifest validation for tests (in the spirit of
 * `kubeconform -strict`), against the v1.27.0 definitions in
 * `__tests__/schemas/k8s-v1.27.0-definitions.json`.
 *
 * - The schema for an object is chosen by apiVersion + kind, using the
 *   `x-kubernetes-group-version-kind` entries of the definitions.
 * - Every object schema that declares `properties` but says nothing about
 *   `additionalProperties` gets `additionalProperties: false`, so unknown
 *   fields are errors. This is done on a normalised copy; the file is never
 *   modified.
 * - int-or-string and quantity values accept either an integer/number or a
 *   string; the usual OpenAPI formats (date-time, byte, int32, int64, double)
 *   are checked with ajv-formats.
 *
 * - Custom resources (Gateway API, OpenShift Route, Istio, ...) are validated
 *   against the `openAPIV3Schema` of their CRD in the shared `crds/` folder
 *   beside the repository (`../shared/crds`), normalised the same way (unknown
 *   fields are errors unless the schema preserves them), with `metadata`
 *   checked as a Kubernetes ObjectMeta. CEL rules (`x-kubernetes-validations`)
 *   are not evaluated: the API server checks them.
 *
 * The definitions are loaded and normalised once per process (per jest test
 * file) and each kind's validator is compiled on first use and cached.
 */
import * as fs from 'fs';
import * as path from 'path';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parseAllDocuments } from 'yaml';

export const K8S_SCHEMA_VERSION = '1.27.0';
/** The newest Kubernetes every object is also checked against, from the shared schemas beside the repository. */
export const NEWEST_K8S_VERSION = '1.36.0';

function definitionsFile(version: string): string {
  return version === K8S_SCHEMA_VERSION
    ? path.join(__dirname, '..', 'schemas', `k8s-v${version}-definitions.json`)
    : path.resolve(__dirname, '..', '..', '..', 'shared', 'k8s-schemas', `v${version}`, '_definitions.json');
}
const SCHEMA_ID = 'k8s-definitions.json';
const QUANTITY_DEF = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const INT_OR_STRING_DEF = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const OBJECT_META_DEF = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
/** The shared CRD files, beside the repository. */
export const CRD_DIR = path.resolve(__dirname, '..', '..', '..', 'shared', 'crds');

type Schema = { [keyword: string]: any };

interface Compiled {
  readonly ajv: Ajv;
  /** "apiVersion kind" -> definition name */
  readonly kinds: Map<string, string>;
  /** known apiVersions, for friendlier errors */
  readonly apiVersions: Set<string>;
  readonly validators: Map<string, ValidateFunction>;
  /** "apiVersion kind" -> schema id of a served CRD version */
  readonly crds: Map<string, string>;
  /** "apiVersion kind" -> the deprecation notice in its description */
  readonly deprecated: Map<string, string>;
}

const compiled = new Map<string, Compiled>();

function isObject(x: unknown): x is Schema {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

const INT_OR_STRING: Schema = { anyOf: [{ type: 'integer' }, { type: 'string' }] };
const QUANTITY: Schema = { anyOf: [{ type: 'string' }, { type: 'number' }] };

/**
 * Returns a normalised deep copy of one schema node. Only keywords that hold
 * sub-schemas are walked: `properties`/`patternProperties`/`definitions` are
 * maps of name -> schema (their keys are data, never keywords), and values
 * such as `enum` or `default` are copied as they are.
 */
/**
 * A CRD pattern (Go RE2) as a JavaScript one. RE2's inline flag `(?i)` (PrometheusRule's
 * `^(?i)(abort|warn)?$`) does not exist in JavaScript: each ASCII letter becomes `[xX]`. Patterns
 * with a character class or an escape after the flag are refused rather than translated wrongly.
 */
export function jsPattern(pattern: string): string {
  const at = pattern.indexOf('(?i)');
  if (at < 0) return pattern;
  const rest = pattern.slice(at + 4);
  if (/[[\\]/.test(rest)) throw new Error(`CRD pattern ${pattern}: (?i) before a character class or escape is not translated; extend jsPattern`);
  return pattern.slice(0, at) + rest.replace(/[A-Za-z]/g, c => `[${c.toLowerCase()}${c.toUpperCase()}]`);
}

function normalise(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalise);
  if (!isObject(node)) return node;

  if (node['x-kubernetes-int-or-string'] === true || node.format === 'int-or-string') {
    return withDescription(INT_OR_STRING, node);
  }

  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case 'properties':
      case 'patternProperties':
      case 'definitions':
        out[key] = mapValues(value, normalise);
        break;
      case 'pattern':
        out[key] = typeof value === 'string' ? jsPattern(value) : value;
        break;
      case 'additionalProperties':
      case 'items':
      case 'not':
      case 'allOf':
      case 'anyOf':
      case 'oneOf':
        out[key] = normalise(value);
        break;
      default:
        out[key] = value;
    }
  }

  const preservesUnknown = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (isObject(out.properties) && out.additionalProperties === undefined && !preservesUnknown) {
    out.additionalProperties = false;
  }
  return out;
}

function withDescription(base: Schema, original: Schema): Schema {
  return original.description === undefined ? { ...base } : { ...base, description: original.description };
}

function mapValues(value: unknown, fn: (v: unknown) => unknown): unknown {
  if (!isObject(value)) return value;
  const out: Schema = {};
  for (const [k, v] of Object.entries(value)) out[k] = fn(v);
  return out;
}

function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

function compile(version = K8S_SCHEMA_VERSION): Compiled {
  const cached = compiled.get(version);
  if (cached) return cached;

  const raw = JSON.parse(fs.readFileSync(definitionsFile(version), 'utf8')) as { definitions: Record<string, Schema> };
  const definitions = mapValues(raw.definitions, normalise) as Record<string, Schema>;

  // The definitions ship Quantity as {type: string} upstream, or as a
  // string|number oneOf in cdk8s's copy; YAML often carries `cpu: 1`, so make
  // sure both a string and a number are accepted. Likewise IntOrString.
  if (definitions[QUANTITY_DEF]) definitions[QUANTITY_DEF] = withDescription(QUANTITY, definitions[QUANTITY_DEF]);
  if (definitions[INT_OR_STRING_DEF]) {
    definitions[INT_OR_STRING_DEF] = withDescription(INT_OR_STRING, definitions[INT_OR_STRING_DEF]);
  }

  const kinds = new Map<string, string>();
  const apiVersions = new Set<string>();
  const deprecated = new Map<string, string>();
  for (const [name, def] of Object.entries(definitions)) {
    const gvks: unknown = def['x-kubernetes-group-version-kind'];
    if (!Array.isArray(gvks)) continue;
    for (const gvk of gvks) {
      if (!isObject(gvk) || typeof gvk.kind !== 'string' || typeof gvk.version !== 'string') continue;
      const apiVersion = apiVersionOf(typeof gvk.group === 'string' ? gvk.group : '', gvk.version);
      // DeleteOptions/WatchEvent/Status are listed under every group-version
      // ever served (apps/v1beta1 included): they don't make a version real.
      if (gvks.length === 1) apiVersions.add(apiVersion);
      const key = `${apiVersion} ${gvk.kind}`;
      if (!kinds.has(key)) kinds.set(key, name);
      const notice = /Deprecated:[^\n]*/.exec(String(def.description ?? ''));
      if (notice && gvks.length === 1) deprecated.set(key, notice[0].trim());
    }
  }

  const ajv = new Ajv({
    allErrors: true,
    strict: false,
    verbose: true, // puts the failing schema/data on each error, used for messages
    // Every definition becomes its own function shared by all kinds, instead
    // of being inlined into each kind's validator: far less code to generate.
    inlineRefs: false,
    validateSchema: false,
    logger: false,
  });
  addFormats(ajv);
  // Defensive: should any 'int-or-string' format survive normalisation it
  // only ever applies to strings, which are allowed anyway.
  ajv.addFormat('int-or-string', true);
  ajv.addSchema({ $id: SCHEMA_ID, definitions });

  const crds = new Map<string, string>();
  for (const [key, schema] of crdSchemas()) {
    const id = `crd-${key.replace(/[^A-Za-z0-9.-]+/g, "-")}.json`;
    ajv.addSchema({ ...schema, $id: id });
    crds.set(key, id);
    apiVersions.add(key.split(' ')[0]);
  }

  const c = { ajv, kinds, apiVersions, validators: new Map(), crds, deprecated };
  compiled.set(version, c);
  return c;
}

/** "apiVersion kind" -> normalised openAPIV3Schema, for every served version of every CRD file. */
export function crdSchemas(dir = CRD_DIR): Map<string, Schema> {
  const out = new Map<string, Schema>();
  if (!fs.existsSync(dir)) return out;
  for (const file of fs.readdirSync(dir).filter(f => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8'))) {
      const crd = doc.toJS();
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const v of crd.spec.versions ?? []) {
        if (!v.served || !v.schema?.openAPIV3Schema) continue;
        const schema = normalise(v.schema.openAPIV3Schema) as Schema;
        // The CRD says only `metadata: {type: object}`; the API server checks it as an ObjectMeta.
        // apiVersion and kind are always allowed by the API server, whether the CRD lists them or not (Istio's do not).
        schema.properties = { apiVersion: { type: 'string' }, kind: { type: 'string' }, ...schema.properties, metadata: { $ref: `${SCHEMA_ID}#/definitions/${escapePointer(OBJECT_META_DEF)}` } };
        out.set(`${crd.spec.group}/${v.name} ${crd.spec.names.kind}`, schema);
      }
    }
  }
  return out;
}

function validatorFor(c: Compiled, definition: string): ValidateFunction {
  let validate = c.validators.get(definition);
  if (!validate) {
    const found = c.ajv.getSchema(`${SCHEMA_ID}#/definitions/${escapePointer(definition)}`);
    if (!found) throw new Error(`no schema compiled for ${definition}`);
    validate = found;
    c.validators.set(definition, validate);
  }
  return validate;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

function typeOf(data: unknown): string {
  if (data === null) return 'null';
  if (Array.isArray(data)) return 'array';
  if (typeof data === 'number' && Number.isInteger(data)) return 'integer';
  return typeof data;
}

function shortValue(data: unknown): string {
  const text = JSON.stringify(data);
  if (text === undefined) return String(data);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** "integer or string" for an anyOf/oneOf made only of `{type: ...}` branches. */
function alternativesOf(e: ErrorObject): string | undefined {
  const branches: unknown = e.schema;
  if (!Array.isArray(branches)) return undefined;
  const types: string[] = [];
  for (const b of branches) {
    if (!isObject(b) || typeof b.type !== 'string') return undefined;
    types.push(b.type);
  }
  return types.join(' or ');
}

function describe(e: ErrorObject): string {
  let where = e.instancePath;
  let what = e.message ?? 'is invalid';
  const params = e.params as Record<string, any>;
  switch (e.keyword) {
    case 'additionalProperties':
      where = `${where}/${escapePointer(String(params.additionalProperty))}`;
      what = `${what} (${params.additionalProperty})`;
      break;
    case 'type':
      what = `${what} (got ${typeOf(e.data)} ${shortValue(e.data)})`;
      break;
    case 'enum':
      what = `${what} ${JSON.stringify(params.allowedValues)} (got ${shortValue(e.data)})`;
      break;
    case 'format':
      what = `${what} (got ${shortValue(e.data)})`;
      break;
    case 'anyOf':
    case 'oneOf': {
      const alternatives = alternativesOf(e);
      if (alternatives) what = `must be ${alternatives} (got ${typeOf(e.data)} ${shortValue(e.data)})`;
      break;
    }
  }
  return `${where === '' ? '/' : where}: ${what}`;
}

function describeAll(errors: ErrorObject[]): string[] {
  // An anyOf/oneOf of plain types (int-or-string, quantity) is reported once,
  // as "must be integer or string", without the per-branch type errors.
  const summarised = new Set(
    errors.filter((e) => (e.keyword === 'anyOf' || e.keyword === 'oneOf') && alternativesOf(e)).map((e) => e.instancePath),
  );
  const out: string[] = [];
  for (const e of errors) {
    if (e.keyword === 'type' && summarised.has(e.instancePath)) continue;
    const text = describe(e);
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

/**
 * Validates one Kubernetes object strictly against the 1.27 schema (or `version`), or a custom
 * resource against its CRD.
 * Returns human-readable errors, `<json path>: <problem>`; empty when valid.
 */
export function validateManifest(obj: any, version = K8S_SCHEMA_VERSION): string[] {
  if (!isObject(obj)) return [`/: must be an object (got ${typeOf(obj)})`];
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== 'string' || apiVersion === '') return ['/apiVersion: must be a non-empty string'];
  if (typeof kind !== 'string' || kind === '') return ['/kind: must be a non-empty string'];

  const c = compile(version);
  const crd = c.crds.get(`${apiVersion} ${kind}`);
  if (crd) {
    let validate = c.validators.get(crd);
    if (!validate) {
      validate = c.ajv.getSchema(crd)!;
      c.validators.set(crd, validate);
    }
    return validate(obj) ? [] : describeAll(validate.errors ?? []);
  }
  const definition = c.kinds.get(`${apiVersion} ${kind}`);
  if (!definition) {
    const why = c.apiVersions.has(apiVersion)
      ? `kind ${kind} does not exist in apiVersion ${apiVersion}`
      : `apiVersion ${apiVersion} does not exist`;
    return [`/: unknown apiVersion/kind ${apiVersion}/${kind} in Kubernetes ${version} (${why})`];
  }

  const validate = validatorFor(c, definition);
  if (validate(obj)) return [];
  return describeAll(validate.errors ?? []);
}

/** `Kind/name` for messages: `Deployment/wordpress`, or `Deployment/<unnamed>`. */
export function manifestLabel(obj: any): string {
  const kind = isObject(obj) && typeof obj.kind === 'string' ? obj.kind : '<no kind>';
  const name = isObject(obj) && isObject(obj.metadata) && typeof obj.metadata.name === 'string' ? obj.metadata.name : '<unnamed>';
  return `${kind}/${name}`;
}

/**
 * Validates several objects; each error is prefixed with `Kind/name: `, e.g.
 * `Deployment/wordpress: /spec/replicas: must be integer (got string "two")`.
 */
export function validateManifests(objs: any[], version = K8S_SCHEMA_VERSION): string[] {
  const out: string[] = [];
  for (const obj of objs) {
    const label = manifestLabel(obj);
    for (const error of validateManifest(obj, version)) out.push(`${label}: ${error}`);
  }
  return out;
}

/**
 * The objects whose API `version` of Kubernetes no longer serves (removed) or marks deprecated,
 * as `Kind/name: apiVersion/kind removed in <version>` or `...: Deprecated: <notice>`.
 */
export function retiredApis(objs: any[], version: string): string[] {
  const c = compile(version);
  return objs.flatMap(obj => {
    const key = `${obj.apiVersion} ${obj.kind}`;
    if (c.crds.has(key)) return [];
    if (!c.kinds.has(key)) return [`${manifestLabel(obj)}: ${obj.apiVersion}/${obj.kind} removed in Kubernetes ${version}`];
    const notice = c.deprecated.get(key);
    return notice ? [`${manifestLabel(obj)}: ${obj.apiVersion}/${obj.kind} in Kubernetes ${version}: ${notice}`] : [];
  });
}
