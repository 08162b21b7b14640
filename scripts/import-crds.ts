// Regenerates imports/ from the CRD files listed under `imports:` in cdk8s.yaml, offline, with the
// project's own cdk8s CLI. Each CRD is imported in a scratch folder (the CLI rewrites a cdk8s.yaml it
// finds, dropping its comments), then the generated modules are copied over imports/*.ts.
//   npm run import            regenerate imports/
//   importCrds(dir)           the same into another folder (the staleness test compares the two)
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';

const REPO = path.resolve(__dirname, '..');
const CLI = path.join(REPO, 'node_modules', '.bin', 'cdk8s');

/** The `imports:` specs of cdk8s.yaml: `FILE` or `NAME:=FILE`, FILE relative to the repository. */
export function importSpecs(): string[] {
  const config = parse(fs.readFileSync(path.join(REPO, 'cdk8s.yaml'), 'utf8'));
  return config.imports ?? [];
}

/** Generate every import into `outDir` (created if missing); returns the file names written. */
export function importCrds(outDir: string): string[] {
  fs.mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const spec of importSpecs()) {
    const [name, file] = spec.includes(':=') ? spec.split(':=') : [undefined, spec];
    const crd = path.resolve(REPO, file);
    if (!fs.existsSync(crd)) throw new Error(`CRD file ${crd} (cdk8s.yaml imports: ${spec}) is missing; the shared crds/ folder must sit beside the repository`);
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-import-'));
    try {
      execFileSync(CLI, ['import', name ? `${name}:=${crd}` : crd, '--language', 'typescript', '--output', 'imports', '--no-check-upgrade'],
        { cwd: scratch, stdio: ['ignore', 'ignore', 'pipe'] });
      for (const f of fs.readdirSync(path.join(scratch, 'imports'))) {
        fs.copyFileSync(path.join(scratch, 'imports', f), path.join(outDir, f));
        written.push(f);
      }
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }
  return written.sort();
}

if (require.main === module) {
  const out = path.join(REPO, 'imports');
  for (const f of fs.readdirSync(out).filter(x => x.endsWith('.ts'))) fs.rmSync(path.join(out, f));
  for (const f of importCrds(out)) console.log(`imports/${f}`);
}
