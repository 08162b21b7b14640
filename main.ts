// Not './lib': the app loads only the pipeline, not every export of the library API.
import { synthesize } from './lib/synthesize';

// `cdk8s synth` wipes its own output folder before running the app, so the app never renders
// straight into dist/: bad input must leave the committed tree untouched.
process.exitCode = synthesize({
  configDir: 'config',
  outDir: 'dist',
  cliOutDir: process.env.CDK8S_OUTDIR,
});
