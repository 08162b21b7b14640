import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';

// Parsers for the strings the schema has already checked with its patterns.

const SIZE_UNITS: Record<string, (n: number) => Size> = {
  Ki: Size.kibibytes, Mi: Size.mebibytes, Gi: Size.gibibytes, Ti: Size.tebibytes,
};

/** "512Mi" → Size. Fractions are kept exact by going down one unit ("1.5Gi" → 1536Mi). */
export function parseSize(text: string): Size {
  const m = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti)$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a size such as "512Mi" or "10Gi"`);
  const amount = Number(m[1]);
  if (Number.isInteger(amount)) return SIZE_UNITS[m[2]](amount);
  const order = ['Ki', 'Mi', 'Gi', 'Ti'];
  const lower = order[order.indexOf(m[2]) - 1];
  if (!lower) throw new Error(`"${text}" is a fraction of a KiB; use a whole number of Ki`);
  return SIZE_UNITS[lower](Math.round(amount * 1024));
}

/** "250m" or "1.5" → Cpu. */
export function parseCpu(text: string): kplus.Cpu {
  if (text.endsWith('m')) return kplus.Cpu.millis(Number(text.slice(0, -1)));
  return kplus.Cpu.millis(Math.round(Number(text) * 1000));
}

/** "30s", "10m", "1h" → Duration. */
export function parseDuration(text: string): Duration {
  const m = /^([0-9]+)(s|m|h)$/.exec(text);
  if (!m) throw new Error(`"${text}" is not a duration such as "30s", "10m" or "1h"`);
  const n = Number(m[1]);
  return m[2] === 's' ? Duration.seconds(n) : m[2] === 'm' ? Duration.minutes(n) : Duration.hours(n);
}
