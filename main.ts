import { isMainThread } from 'worker_threads';
// Not './lib': the app loads only the pipeline, not every export of the library API.
import { synthesize } from './lib/render/synthesize';

// `cdk8s synth` wipes its own output folder before running the app, so the app never renders
// straight into dist/: bad input must leave the committed tree untouched.
// In a worker thread the bundled app is the render worker's script (lib/render/render-sites.ts) and only
// renders the sites it is handed.
if (isMainThread) {
  process.exitCode = synthesize({
    configDir: 'config',
    outDir: 'dist',
    cliOutDir: process.env.CDK8S_OUTDIR,
    // Set by scripts/synth.js (`npm run synth`), which prints it after the CLI's own lines.
    summaryFile: process.env.CDK8S_WORDPRESS_SUMMARY,
    parallel: true,
  });
}
