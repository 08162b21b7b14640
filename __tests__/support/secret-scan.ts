/**
 * Secret scanning of rendered manifests for tests.
 *
 * Two checks, both reported as `path:line: ruleId message`:
 *
 * 1. secretlint's recommended preset (@secretlint/secretlint-rule-preset-recommend:
 *    AWS, GCP, private keys, GitHub/npm/Slack/OpenAI/... tokens, basic auth,
 *    database connection strings), run through `lintSource` from
 *    @secretlint/core. The AWS rule's access-key-ID scan (off by default
 *    upstream) is switched on. Secrets are masked in messages.
 *
 * 2. `local/no-k8s-secret-data`: a YAML/JSON manifest holding a `kind: Secret`
 *    with non-empty `data` or `stringData`. The published
 *    @secretlint/secretlint-rule-no-k8s-kind-secret (11.3.1) only looks for a
 *    capitalised `Kind:` key, which no real manifest has, so it never fires;
 *    this check does the job on the parsed YAML instead.
 *
 * Why a worker thread: every secretlint package is ESM-only, and jest's module
 * loader cannot `require()` ESM on Node < 24.9 (nor `import()` it without
 * --experimental-vm-modules). A worker_threads Worker runs on Node's own
 * loader, so it imports secretlint natively. It is started once per test file,
 * kept while tests use it, and does not hold the process open when idle.
 */
import * as path from 'path';
import { pathToFileURL } from 'url';
import { Worker } from 'worker_threads';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseAllDocuments } from 'yaml';

export interface ScannedFile {
  path: string;
  content: string;
}

export const K8S_SECRET_RULE_ID = 'local/no-k8s-secret-data';

/** Overrides for rules inside the recommended preset. */
const PRESET_RULE_OPTIONS = [{ id: '@secretlint/secretlint-rule-aws', options: { enableIDScanRule: true } }];

interface Finding {
  line: number;
  ruleId: string;
  message: string;
}

/**
 * Scans the given files (their content, not the disk) and returns findings
 * as `path:line: ruleId message`, in file order then line order. Empty = clean.
 */
export async function scanForSecrets(files: { path: string; content: string }[]): Promise<string[]> {
  if (files.length === 0) return [];
  const fromSecretlint = await secretlint().lint(files);
  const out: string[] = [];
  files.forEach((file, i) => {
    const findings = [...fromSecretlint[i], ...k8sSecretFindings(file)];
    findings.sort((a, b) => a.line - b.line);
    for (const f of findings) out.push(`${file.path}:${f.line}: ${f.ruleId} ${shortenMask(f.message)}`);
  });
  return out;
}

/** secretlint masks a secret with one `*` per character: keep messages short. */
function shortenMask(message: string): string {
  return message.replace(/\*{9,}/g, '********');
}

/** Stops the secretlint worker (optional: an idle worker never keeps jest alive). */
export async function closeSecretScanner(): Promise<void> {
  const current = scanner;
  scanner = undefined;
  if (current) await current.close();
}

// ---------------------------------------------------------------------------
// local/no-k8s-secret-data

function k8sSecretFindings(file: ScannedFile): Finding[] {
  if (!/\.(ya?ml|json)$/i.test(file.path)) return [];
  const lineCounter = new LineCounter();
  const findings: Finding[] = [];
  for (const doc of parseAllDocuments(file.content, { lineCounter })) {
    if (!('contents' in doc)) continue; // an EmptyStream
    checkObject(doc.contents, lineCounter, findings);
  }
  return findings;
}

function scalarValue(map: unknown, key: string): unknown {
  if (!isMap(map)) return undefined;
  const node = map.get(key, true);
  return isScalar(node) ? node.value : undefined;
}

function checkObject(node: unknown, lineCounter: LineCounter, findings: Finding[]): void {
  if (!isMap(node)) return;
  const kind = scalarValue(node, 'kind');

  // kind: List (or SecretList) wraps objects in `items`.
  if (typeof kind === 'string' && kind.endsWith('List')) {
    const items = node.get('items', true);
    if (isSeq(items)) for (const item of items.items) checkObject(item, lineCounter, findings);
    return;
  }
  if (kind !== 'Secret') return;

  const name = scalarValue(node.get('metadata', true), 'name');
  for (const pair of node.items) {
    if (!isPair(pair) || !isScalar(pair.key)) continue;
    const field = pair.key.value;
    if (field !== 'data' && field !== 'stringData') continue;
    if (!isMap(pair.value) || pair.value.items.length === 0) continue;
    const keys = pair.value.items.map((p) => (isScalar(p.key) ? String(p.key.value) : '?'));
    const offset = pair.key.range?.[0] ?? 0;
    findings.push({
      line: lineCounter.linePos(offset).line,
      ruleId: K8S_SECRET_RULE_ID,
      message:
        `Secret/${typeof name === 'string' ? name : '<unnamed>'} embeds values in ${field} (${keys.join(', ')}); ` +
        'committed Secret values are readable (base64 is not encryption): reference a Secret created outside ' +
        'the repo (secretKeyRef, secretName) or use a sealed/external secret',
    });
  }
}

// ---------------------------------------------------------------------------
// secretlint, in a worker thread

interface LintRequest {
  id: number;
  files: ScannedFile[];
}
type LintReply = { id: number; results: Finding[][] } | { id: number; error: string };

/**
 * The worker's source (plain CommonJS, evaluated by Node). It imports the
 * ESM packages by absolute file URL, resolved in the parent.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('worker_threads');
const { extname } = require('path');
const ready = Promise.all([import(workerData.coreUrl), import(workerData.presetUrl)]).then(([core, preset]) => ({
  lintSource: core.lintSource,
  config: {
    rules: [{ id: preset.creator.meta.id, rule: preset.creator, rules: workerData.presetRules }],
  },
}));
parentPort.on('message', async (request) => {
  try {
    const { lintSource, config } = await ready;
    const results = [];
    for (const file of request.files) {
      const result = await lintSource({
        source: { filePath: file.path, content: file.content, ext: extname(file.path), contentType: 'text' },
        options: { config, maskSecrets: true, noPhysicFilePath: true, locale: 'en' },
      });
      results.push(result.messages.map((m) => ({ line: m.loc.start.line, ruleId: m.ruleId, message: m.message })));
    }
    parentPort.postMessage({ id: request.id, results });
  } catch (error) {
    parentPort.postMessage({ id: request.id, error: String((error && error.stack) || error) });
  }
});
`;

class SecretlintWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: Finding[][]) => void; reject: (e: Error) => void }>();
  private nextId = 1;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        coreUrl: moduleUrl('@secretlint/core'),
        presetUrl: moduleUrl('@secretlint/secretlint-rule-preset-recommend'),
        presetRules: PRESET_RULE_OPTIONS,
      },
    });
    this.worker.unref();
    this.worker.on('message', (reply: LintReply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.settled(reply.id);
      if ('error' in reply) waiter.reject(new Error(`secretlint failed: ${reply.error}`));
      else waiter.resolve(reply.results);
    });
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.on('exit', (code) => this.failAll(new Error(`secretlint worker exited with code ${code}`)));
  }

  lint(files: ScannedFile[]): Promise<Finding[][]> {
    const id = this.nextId++;
    const request: LintRequest = { id, files: files.map((f) => ({ path: f.path, content: f.content })) };
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref(); // keep the process alive while an answer is due
      this.worker.postMessage(request);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private settled(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private failAll(error: Error): void {
    if (scanner === this) scanner = undefined;
    for (const [id, waiter] of [...this.pending]) {
      this.settled(id);
      waiter.reject(error);
    }
  }
}

let scanner: SecretlintWorker | undefined;

function secretlint(): SecretlintWorker {
  if (!scanner) scanner = new SecretlintWorker();
  return scanner;
}

function moduleUrl(specifier: string): string {
  // Each package's "exports" has a "default" entry next to "import", so
  // require.resolve finds the same ESM file that `import` would.
  return pathToFileURL(path.resolve(require.resolve(specifier))).href;
}
