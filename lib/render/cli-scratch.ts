import * as fs from 'fs';
import * as path from 'path';

/** Rendered files the cdk8s CLI takes for manifests; others (if any) stay out of its folder. */
const MANIFEST = /\.k8s\.yaml$/;

/**
 * The cdk8s CLI's output folder (`CDK8S_OUTDIR`, emptied by the CLI before every run): one
 * `<env>.k8s.yaml` per environment, holding every manifest of its sites in site order, each file's
 * documents as in dist/. The CLI lists, prints (`--stdout`) and hands validation plugins what is
 * there; one file per environment gives it every object while costing one file instead of a
 * folder and two files per site (1000 sites: 1000 folders and 2000 files less to create, list and
 * print). Written as the sites come, like dist/'s staging folder.
 */
export class CliScratch {
  private fd?: number;
  private env?: string;
  /** Whether the open file holds a document yet: the next one then needs a separator. */
  private started = false;
  private readonly written: string[] = [];

  public constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  /** Appends a site's manifests to its environment's file; sites of one environment come together. */
  public add(envName: string, files: ReadonlyArray<readonly [string, string]>) {
    const docs = files.filter(([rel, content]) => MANIFEST.test(rel) && content).map(([, content]) => content);
    if (envName !== this.env) {
      this.close();
      const file = path.join(this.dir, `${envName}.k8s.yaml`);
      this.written.push(file);
      this.fd = fs.openSync(file, 'w');
      this.env = envName;
      this.started = false;
    }
    if (!docs.length) return;
    fs.writeSync(this.fd!, `${this.started ? '---\n' : ''}${docs.join('---\n')}`);
    this.started = true;
  }

  /** Closes the last file; the folder is then complete. */
  public close() {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  /** Removes the files written, so that a failed run leaves no half environment for the CLI to list. */
  public discard() {
    this.close();
    for (const file of this.written) fs.rmSync(file, { force: true });
  }
}
