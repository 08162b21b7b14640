import { Yaml } from 'cdk8s';

/**
 * `Yaml.stringify(...docs)` of cdk8s, byte for byte, written directly for the plain data that
 * `Chart.toJson()` returns: 0.3 ms for a site's objects against 4–5 ms.
 *
 * cdk8s has the `yaml` package (YAML 1.1 schema, `lineWidth: 0`, `keepUndefined`) build a node tree
 * and walk it for every object. This writes the same text in one pass over plain objects, arrays,
 * strings, numbers, booleans, null and undefined. A document holding anything else (instances of
 * other classes, an object reached twice, which `yaml` writes as an anchor and an alias, strings
 * `yaml` would escape or double-quote over several lines, long or multi-line keys) goes to
 * `Yaml.stringify` whole. The rules below mirror `yaml`'s stringifyString, stringifyPair and
 * stringifyCollection (yaml 2.9); __tests__/yaml-emitter.test.ts holds them to `Yaml.stringify`.
 */
export function emitYaml(...docs: unknown[]): string {
  return docs.map(doc => emitDocument(doc) ?? Yaml.stringify(doc)).join('---\n');
}

/** Thrown inside a document that this emitter does not write exactly as `yaml` would. */
const UNSUPPORTED = new Error('not emitted here; Yaml.stringify writes this document');

function emitDocument(doc: unknown): string | undefined {
  // Top-level scalars follow document-level rules (`--- |` headers, unindented blocks): rare, left out.
  if (typeof doc !== 'object' || doc === null) return undefined;
  try {
    return `${collection(doc, '', new Set())}\n`;
  } catch (e) {
    if (e === UNSUPPORTED) return undefined;
    throw e;
  }
}

/** One step of block indentation, as `yaml` indents both maps and sequences. */
const STEP = '  ';

/**
 * A block map or sequence; every line after the first starts with `indent` (`yaml`'s `ctx.indent`),
 * the caller puts the first line after a key or `- `.
 */
function collection(value: object, indent: string, seen: Set<object>): string {
  if (seen.has(value)) throw UNSUPPORTED;
  seen.add(value);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const itemIndent = indent + STEP;
    let out = '';
    for (let i = 0; i < value.length; i++) {
      out += `${i ? `\n${indent}` : ''}- ${node(value[i], itemIndent, seen)}`;
    }
    return out;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw UNSUPPORTED;
  const keys = Object.keys(value);
  if (keys.length === 0) return '{}';
  const valueIndent = indent + STEP;
  let out = '';
  for (let i = 0; i < keys.length; i++) {
    const v = (value as Record<string, unknown>)[keys[i]];
    const k = key(keys[i], valueIndent);
    const str = node(v, valueIndent, seen);
    // A non-empty collection starts on the next line; a scalar, `{}` or `[]` after one space.
    const nested = typeof v === 'object' && v !== null && str !== '{}' && str !== '[]';
    out += `${i ? `\n${indent}` : ''}${k}:${nested ? `\n${valueIndent}` : ' '}${str}`;
  }
  return out;
}

function node(value: unknown, indent: string, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return value.includes('\n') ? multiLine(value, indent) : scalar(value);
    case 'number':
      // `yaml`'s stringifyNumber.
      if (!isFinite(value)) return isNaN(value) ? '.nan' : value < 0 ? '-.inf' : '.inf';
      return Object.is(value, -0) ? '-0' : JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'undefined':
      return 'null'; // cdk8s passes `keepUndefined`
    case 'object':
      return value === null ? 'null' : collection(value, indent, seen);
    default:
      throw UNSUPPORTED;
  }
}

/**
 * One-line strings as written, by string (keys below the top level, and values): a site's objects
 * repeat a few hundred keys and values thousands of times, and a lookup is cheaper than the regular
 * expressions. Bounded, since values are data.
 */
const WRITTEN = new Map<string, string>();
const WRITTEN_MAX = 20_000;

/** A one-line string value or nested key, through `WRITTEN`. */
function scalar(value: string): string {
  const known = WRITTEN.get(value);
  if (known !== undefined) return known;
  const str = oneLine(value, false);
  if (WRITTEN.size >= WRITTEN_MAX) WRITTEN.clear();
  WRITTEN.set(value, str);
  return str;
}

/** A map key; `indent` is the pair's. */
function key(k: string, indent: string): string {
  // Keys with line breaks are quoted over several lines, and long ones become explicit `? key` entries.
  if (k.includes('\n')) throw UNSUPPORTED;
  const str = indent === STEP ? oneLine(k, true) : scalar(k);
  if (str.length > 1024) throw UNSUPPORTED;
  return str;
}

// Copied from yaml 2.9's stringifyString.js (plainString and helpers) and schema/yaml-1.1.

/**
 * Control characters and lone surrogates, which `yaml` escapes in double quotes; surrogate pairs
 * (emoji) match too, leaving them to `Yaml.stringify` for a cheaper test.
 */
const NEEDS_ESCAPES = /[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]/;
/** What a plain scalar cannot be: an indicator first, `: ` or ` #` inside, blank or `:` last, … */
const NOT_PLAIN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;
/**
 * Plain text that YAML 1.1 reads as another type (null, bool, int, float, sexagesimal, timestamp):
 * the tests of the default tags of `yaml`'s yaml-1.1 schema but `str` and the merge key (see oneLine).
 */
const OTHER_TYPES = new RegExp([
  /^(?:~|[Nn]ull|NULL)?$/,
  /^(?:Y|y|[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/,
  /^(?:N|n|[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/,
  /^[-+]?0b[0-1_]+$/,
  /^[-+]?0[0-7_]+$/,
  /^[-+]?[0-9][0-9_]*$/,
  /^[-+]?0x[0-9a-fA-F_]+$/,
  /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/,
  /^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$/,
  /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/,
  /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+$/,
  /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*$/,
  /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:t|T|[ \t]+)([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2}(\.[0-9]+)?)(?:[ \t]*(Z|[-+][012]?[0-9](?::[0-9]{2})?))?)?$/,
].map(re => re.source).join('|'));

/**
 * A string without line breaks, plain where `yaml` leaves it plain, else quoted. `topLevelKey`: at
 * the top level a key starting with `---` or `...` would read as a document marker.
 */
function oneLine(value: string, topLevelKey: boolean): string {
  if (NEEDS_ESCAPES.test(value)) throw UNSUPPORTED;
  // `yaml` writes the string '<<' unquoted, as the merge key.
  if (value === '<<') throw UNSUPPORTED;
  if (NOT_PLAIN.test(value) || (topLevelKey && DOCUMENT_MARKER.test(value))) return quoted(value);
  if (OTHER_TYPES.test(value)) return quoted(value);
  return value;
}

/** `yaml`'s quotedString for one line: single quotes when that avoids escaping a double quote. */
function quoted(value: string): string {
  const hasDouble = value.includes('"');
  // Without line breaks or escapes, yaml's double-quoted form is exactly JSON.
  return hasDouble && !value.includes("'") ? `'${value.replace(/'/g, "''")}'` : JSON.stringify(value);
}

/** Within the trailing blanks, line breaks that blanks follow: the lines after them get indented. */
const BLOCK_END_NEWLINES = /(^|(?<!\n))\n+(?!\n|$)/g;

/** A string with line breaks: a literal block scalar (`|`), indented by `indent`. */
function multiLine(value: string, indent: string): string {
  // Blanks after the last line break cannot be kept by a block scalar: yaml double-quotes those.
  if (NEEDS_ESCAPES.test(value) || /\n[\t ]+$/.test(value)) throw UNSUPPORTED;
  // Chomping from the trailing blanks: `-` none, clip (no indicator) one line break, `+` more.
  let endStart = value.length;
  while (endStart > 0 && (value[endStart - 1] === '\n' || value[endStart - 1] === ' ' || value[endStart - 1] === '\t')) endStart--;
  let end = value.substring(endStart);
  const endNl = end.indexOf('\n');
  const chomp = endNl === -1 ? '-' : value === end || endNl !== end.length - 1 ? '+' : '';
  let body = value;
  if (end) {
    body = body.slice(0, -end.length);
    if (end[end.length - 1] === '\n') end = end.slice(0, -1);
    end = end.replace(BLOCK_END_NEWLINES, `$&${indent}`);
  }
  // An indentation indicator when the text starts with spaces (possibly after empty lines).
  let startsWithSpace = false;
  let startNl = -1;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch === ' ') startsWithSpace = true;
    else if (ch === '\n') startNl = i;
    else break;
  }
  let start = body.substring(0, startNl + 1);
  if (start) {
    body = body.substring(start.length);
    start = start.replace(/\n+/g, `$&${indent}`);
  }
  return `|${startsWithSpace ? '2' : ''}${chomp}\n${indent}${start}${body.replace(/\n+/g, `$&${indent}`)}${end}`;
}
