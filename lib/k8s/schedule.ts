// Checks for CronJob `schedule` and `timeZone` values, so that a typo fails at render time with a
// message instead of being rejected by the API server (or, worse, never firing).

/** Shorthands the Kubernetes CronJob controller accepts in place of five fields. */
export const CRON_SHORTHANDS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'] as const;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface CronField {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Names accepted for values, in order from `min`. */
  readonly names?: string[];
}

// The ranges of the parser the CronJob controller uses (robfig/cron "standard"): day of week is
// 0-6 there, so the 7 for Sunday that some crons take is an error.
const FIELDS: CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day of week', min: 0, max: 6, names: WEEKDAYS },
];

/**
 * Why `schedule` is not a cron schedule the CronJob controller accepts, or undefined when it is:
 * five fields (minute hour day-of-month month day-of-week) with `*`, `?`, lists, ranges, steps and
 * month/day names, or one of `CRON_SHORTHANDS`.
 */
export function cronProblem(schedule: string): string | undefined {
  const text = schedule.trim();
  if (/^(CRON_)?TZ=/.test(text)) return 'sets a time zone inside the schedule, which Kubernetes rejects; use the timeZone setting instead';
  if (text.startsWith('@')) {
    return (CRON_SHORTHANDS as readonly string[]).includes(text) ? undefined : `is not a known shorthand; use one of ${CRON_SHORTHANDS.join(', ')} or five fields`;
  }
  const parts = text.split(/\s+/);
  if (parts.length !== FIELDS.length) {
    return `has ${parts.length} field(s) but needs 5 (minute hour day-of-month month day-of-week), e.g. "17 3 * * *" for 03:17 daily`;
  }
  for (let i = 0; i < FIELDS.length; i++) {
    for (const item of parts[i].split(',')) {
      const problem = itemProblem(item, FIELDS[i]);
      if (problem) return `${FIELDS[i].name} "${parts[i]}": ${problem}`;
    }
  }
  return undefined;
}

function itemProblem(item: string, field: CronField): string | undefined {
  const [range, step, ...rest] = item.split('/');
  if (rest.length > 0) return `"${item}" has more than one "/"`;
  if (step !== undefined && !/^[0-9]+$/.test(step)) return `step "${step}" is not a whole number`;
  if (step !== undefined && Number(step) === 0) return 'a step of 0 never advances; use 1 or more';
  if (range === '*' || range === '?') return undefined;
  const bounds = range.split('-');
  if (bounds.length > 2) return `"${range}" is not a value or a range a-b`;
  const values: number[] = [];
  for (const b of bounds) {
    const value = fieldValue(b, field);
    if (value === undefined) {
      const names = field.names ? ` or ${field.names[0]}-${field.names[field.names.length - 1]}` : '';
      return `"${b}" is not a value from ${field.min} to ${field.max}${names}`;
    }
    values.push(value);
  }
  if (values.length === 2 && values[0] > values[1]) return `range "${range}" starts after it ends`;
  return undefined;
}

function fieldValue(text: string, field: CronField): number | undefined {
  const named = field.names?.indexOf(text.toLowerCase()) ?? -1;
  if (named >= 0) return field.min + named;
  if (!/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= field.min && n <= field.max ? n : undefined;
}

/**
 * Why `zone` is not an IANA time zone name, or undefined when it is. The controller looks names up
 * case-sensitively, so a name that is only right when case is ignored is a problem too.
 */
export function timeZoneProblem(zone: string): string | undefined {
  // A canonical name is fine as it is: looking it up costs 2 ms, a formatter for the zone 20 ms.
  if (canonicalZones().has(zone)) return undefined;
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return 'is not an IANA time zone name; use one such as "Etc/UTC" or "Europe/Berlin"';
  }
  if (resolved !== zone && resolved.toLowerCase() === zone.toLowerCase()) return `has the wrong letter case; use "${resolved}"`;
  return undefined;
}

let zones: ReadonlySet<string> | undefined;

/** The IANA names the runtime knows as canonical (empty where it cannot list them). */
function canonicalZones(): ReadonlySet<string> {
  zones ??= new Set((Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ?? []);
  return zones;
}
