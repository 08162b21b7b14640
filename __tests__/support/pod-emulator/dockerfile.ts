// Pod emulator: the runtime configuration an image declares (ENV, ENTRYPOINT, CMD, WORKDIR,
// STOPSIGNAL), read from its Dockerfile and the Dockerfiles of its bases, as a build would set it.

import * as fs from 'fs';

export interface ImageConfig {
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  stopSignal: string;
}

/** What `FROM scratch`-like Debian/Ubuntu base images declare: only PATH. */
export const BASE_IMAGE_CONFIG: ImageConfig = {
  env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
  entrypoint: [],
  cmd: ['/bin/bash'],
  workingDir: '/',
  stopSignal: 'SIGTERM',
};

/** Instructions of a Dockerfile: continuation lines joined, comments dropped. */
export function instructions(text: string): Array<{ op: string; args: string }> {
  const out: Array<{ op: string; args: string }> = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (/^\s*#/.test(line)) continue; // comments, also inside continuations
    if (/\\\s*$/.test(line)) {
      current += line.replace(/\\\s*$/, '') + '\n';
      continue;
    }
    current += line;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(current);
    if (m) out.push({ op: m[1].toUpperCase(), args: m[2].trim() });
    current = '';
  }
  return out;
}

function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a, b) => vars[a ?? b] ?? '');
}

function unquote(text: string): string {
  const m = /^"(.*)"$/s.exec(text) ?? /^'(.*)'$/s.exec(text);
  return m ? m[1] : text;
}

/** `k=v k2="v 2"` or the legacy `k v w` form of ENV/ARG. */
function assignments(args: string): Array<[string, string | undefined]> {
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(args)) {
    const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(args)!;
    return [[m[1], m[2] === undefined ? undefined : m[2].trim()]];
  }
  const out: Array<[string, string]> = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (let m = re.exec(args); m; m = re.exec(args)) out.push([m[1], unquote(m[2])]);
  return out;
}

function execForm(args: string): string[] {
  if (args.startsWith('[')) return JSON.parse(args);
  return ['/bin/sh', '-c', args];
}

/**
 * The config a Dockerfile leaves, on top of its base's. `base` resolves a FROM reference to the
 * base's config (or throws when the base is unknown).
 */
export function imageConfig(dockerfile: string, base: (from: string) => ImageConfig): { from: string; config: ImageConfig } {
  const steps = instructions(fs.readFileSync(dockerfile, 'utf8'));
  const fromStep = steps.find(s => s.op === 'FROM');
  if (!fromStep) throw new Error(`${dockerfile}: no FROM`);
  const from = fromStep.args.split(/\s+/)[0];
  const parent = base(from);
  const config: ImageConfig = { ...parent, env: { ...parent.env }, entrypoint: [...parent.entrypoint], cmd: [...parent.cmd] };
  const args: Record<string, string> = {};
  let entrypointSet = false;
  let cmdSet = false;
  for (const { op, args: text } of steps.slice(steps.indexOf(fromStep) + 1)) {
    const vars = { ...args, ...config.env };
    switch (op) {
      case 'ARG':
        for (const [k, v] of assignments(text)) args[k] = v === undefined ? '' : substitute(v, vars);
        break;
      case 'ENV':
        for (const [k, v] of assignments(text)) config.env[k] = substitute((v ?? '').replace(/\s*\n\s*/g, ' ').trim(), vars);
        break;
      case 'ENTRYPOINT':
        config.entrypoint = execForm(text);
        entrypointSet = true;
        break;
      case 'CMD':
        config.cmd = execForm(text);
        cmdSet = true;
        break;
      case 'WORKDIR':
        config.workingDir = substitute(text, vars);
        break;
      case 'STOPSIGNAL':
        config.stopSignal = text;
        break;
      default:
        break;
    }
  }
  // Docker: setting ENTRYPOINT in an image resets the CMD inherited from its base.
  if (entrypointSet && !cmdSet) config.cmd = [];
  return { from, config };
}

/**
 * The body of a Dockerfile's `{ echo '...'; ... } > "<target>"` (or `| tee "<target>"`) block: the
 * file a RUN step writes, as dash's echo would write it.
 */
export function echoBlock(dockerfile: string, target: string): string {
  const text = fs.readFileSync(dockerfile, 'utf8');
  const lines = text.split('\n');
  const end = lines.findIndex(l => l.includes('}') && l.includes(target) && /\}\s*(>|\|\s*tee)/.test(l));
  if (end < 0) throw new Error(`${dockerfile}: no echo block writes ${target}`);
  let start = end - 1;
  while (start >= 0 && !/\{\s*\\\s*$/.test(lines[start])) start--;
  if (start < 0) throw new Error(`${dockerfile}: echo block for ${target} has no opening brace`);
  const body: string[] = [];
  for (const line of lines.slice(start + 1, end)) {
    const t = line.trim();
    if (t.startsWith('#') || t === '') continue;
    const m = /^echo(?:\s+'((?:[^']|'\\'')*)')?\s*;\s*\\?$/.exec(t);
    if (!m) throw new Error(`${dockerfile}: cannot read echo line ${JSON.stringify(t)} of the block for ${target}`);
    body.push((m[1] ?? '').replace(/'\\''/g, "'").replace(/\\t/g, '\t').replace(/\\n/g, '\n'));
  }
  return body.join('\n') + '\n';
}
