import * as path from 'path';
import { environmentFiles, formatIssue, loadConfigDir } from '../config/load';
import * as fs from 'fs';
import { ChangeSummary } from './change-summary';
import { CliScratch } from './cli-scratch';
import { RenderOptions, streamEnvironments } from './render';
import { RenderThread, worthAnEarlyThread } from './render-sites';
import { StagedTree } from './staged-tree';

export interface SynthesizeOptions extends RenderOptions {
  /** Directory of environment files (`<env>.yaml`). */
  readonly configDir: string;
  /** The committed output tree, replaced only when everything rendered. */
  readonly outDir: string;
  /**
   * Output folder of the cdk8s CLI (`CDK8S_OUTDIR`), which lists, validates or prints what is
   * there: it gets one `<env>.k8s.yaml` per environment with all of its manifests (see `CliScratch`).
   * @default none
   */
  readonly cliOutDir?: string;
  /**
   * Write what changed in `outDir` against its previous contents here (see `ChangeSummary`); the
   * cdk8s CLI keeps the app's output to itself, so `npm run synth` prints this file afterwards.
   * @default no summary
   */
  readonly summaryFile?: string;
  /** Where messages go. @default console */
  readonly log?: Pick<Console, 'error' | 'warn' | 'log'>;
}

/**
 * Validate every environment file, render all sites, and only then replace `outDir`.
 * @returns the process exit code: 0 on success, 1 when any file has an error
 */
export function synthesize(opts: SynthesizeOptions): number {
  // A second thread for many sites starts loading now, while this one loads the config.
  const early = opts.parallel && !opts.thread && worthAnEarlyThread(configBytes(opts.configDir)) ? RenderThread.start() : undefined;
  try {
    return synthesizeWith({ ...opts, thread: opts.thread ?? early });
  } finally {
    early?.stop();
  }
}

function synthesizeWith(opts: SynthesizeOptions): number {
  const log = opts.log ?? console;
  const result = loadConfigDir(opts.configDir);
  for (const w of result.warnings) log.warn(`warning: ${formatIssue(w)}`);
  if (result.errors.length > 0) {
    for (const e of result.errors) log.error(`error: ${formatIssue(e)}`);
    log.error(`${result.errors.length} error(s); ${opts.outDir}/ was left unchanged.`);
    return 1;
  }
  // Both written as the sites come, so memory stays flat however many there are; dist/ is only
  // swapped in once every environment rendered.
  const staged = new StagedTree(opts.outDir);
  const scratch = opts.cliOutDir && path.resolve(opts.cliOutDir) !== path.resolve(opts.outDir) ? new CliScratch(opts.cliOutDir) : undefined;
  const summary = opts.summaryFile ? new ChangeSummary(opts.outDir) : undefined;
  try {
    streamEnvironments(result.environments, opts, (job, files) => {
      summary?.addSite(`${job.envName}/${job.name}`, files);
      staged.write(files);
      scratch?.add(job.envName, files);
    });
    summary?.addRemovedSites();
    scratch?.close();
    staged.commit();
  } catch (e) {
    staged.discard();
    scratch?.discard();
    log.error(`error: ${(e as Error).message}\n${opts.outDir}/ was left unchanged.`);
    return 1;
  }
  const sites = result.environments.reduce((n, e) => n + Object.keys(e.sites).length, 0);
  if (summary) fs.writeFileSync(opts.summaryFile!, summary.text(opts.outDir));
  log.log(`Rendered ${sites} site(s) in ${result.environments.length} environment(s) into ${opts.outDir}/ (${staged.files} files).`);
  return 0;
}

/** Bytes of the environment files (0 when the folder cannot be read: loading it reports why). */
function configBytes(dir: string): number {
  try {
    return environmentFiles(dir).reduce((n, f) => n + fs.statSync(f).size, 0);
  } catch {
    return 0;
  }
}
