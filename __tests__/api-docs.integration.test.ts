// docs/api.md must be what `npm run gen` writes from the doc comments now. Running typedoc takes
// 8-15 s, too long for `npm test`; that every export has a doc comment is checked there, in
// __tests__/public-api.test.ts.
import * as fs from 'fs';
import * as path from 'path';
import { API_DOCS_FILE, apiReference } from '../scripts/api-docs';
import { REPO } from './support/fixtures';

test(`${API_DOCS_FILE} is what \`npm run gen\` writes from the doc comments now`, () => {
  const committed = fs.readFileSync(path.join(REPO, API_DOCS_FILE), 'utf8');
  expect(apiReference()).toBe(committed);
  // It covers the constructs the library is for, each with its props.
  for (const name of ['WordPressApp', 'MariaDbStatefulSet', 'StorageClaims', 'IngressRule', 'AntiAffinity']) {
    expect(committed).toContain(`### ${name}\n`);
    expect(committed).toContain(`### ${name}Props\n`);
  }
}, 120_000);
