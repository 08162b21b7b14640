import * as fs from 'fs';
import * as path from 'path';
import { formatIssue, loadConfigDir } from '../config/load';
import { RenderOptions, publish, renderEnvironments, writeFiles } from './render';

export interface SynthesizeOptions extends RenderOptions {
  /** Directory of environment files (`<env>.yaml`). */
  readonly configDir: string;
  /** The committed output tree, replaced only when everything rendered. */
  readonly outDir: string;
  /**
   * Extra copy for the cdk8s CLI (`CDK8S_OUTDIR`): it lists, validates or prints what is there.
   * @default no copy
   */
  readonly cliOutDir?: string;
  /** Where messages go. @default console */
  readonly log?: Pick<Console, 'error' | 'warn' | 'log'>;
}

/**
 * Validate every environment file, render all sites, and only then replace `outDir`.
 * @returns the process exit code: 0 on success, 1 when any file has an error
 */
export function synthesize(opts: SynthesizeOptions): number {
  const log = opts.log ?? console;
  const result = loadConfigDir(opts.configDir);
  for (const w of result.warnings) log.warn(`warning: ${formatIssue(w)}`);
  if (result.errors.length > 0) {
    for (const e of result.errors) log.error(`error: ${formatIssue(e)}`);
    log.error(`${result.errors.length} error(s); ${opts.outDir}/ was left unchanged.`);
    return 1;
  }
  let files;
  try {
    files = renderEnvironments(result.environments, opts);
    publish(files, opts.outDir);
  } catch (e) {
    log.error(`error: ${(e as Error).message}\n${opts.outDir}/ was left unchanged.`);
    return 1;
  }
  if (opts.cliOutDir && path.resolve(opts.cliOutDir) !== path.resolve(opts.outDir)) {
    fs.rmSync(opts.cliOutDir, { recursive: true, force: true });
    writeFiles(files, opts.cliOutDir);
  }
  const sites = result.environments.reduce((n, e) => n + Object.keys(e.sites).length, 0);
  log.log(`Rendered ${sites} site(s) in ${result.environments.length} environment(s) into ${opts.outDir}/ (${files.size} files).`);
  return 0;
}
