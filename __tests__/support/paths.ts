// The repository and temp folders, apart from fixtures.ts: that module loads the whole library,
// seconds of start-up for the suites that only run programs.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const REPO = path.resolve(__dirname, '..', '..');

/** A new empty folder under the system's temp dir, and how to remove it. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
