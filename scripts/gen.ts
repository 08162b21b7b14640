import * as fs from 'fs';
import { REFERENCE_END, REFERENCE_START, configReference, schemaFileText } from '../lib/config/reference';
import { VALIDATOR_FILE, validatorModuleText } from '../lib/config/validator-source';
import { API_DOCS_FILE, apiReference } from './api-docs';

// Regenerates what is derived from the config schema: config.schema.json, the README reference and
// the precompiled validator; and the API reference from the library's doc comments.
fs.writeFileSync('config.schema.json', schemaFileText());
const readme = fs.readFileSync('README.md', 'utf8');
const start = readme.indexOf(REFERENCE_START);
const end = readme.indexOf(REFERENCE_END);
if (start < 0 || end < start) throw new Error('README.md lacks the config-reference markers');
fs.writeFileSync('README.md', `${readme.slice(0, start + REFERENCE_START.length)}\n${configReference()}${readme.slice(end)}`);
fs.writeFileSync(VALIDATOR_FILE, validatorModuleText());
fs.writeFileSync(API_DOCS_FILE, apiReference());
console.log(`wrote config.schema.json, the README config reference, ${VALIDATOR_FILE} and ${API_DOCS_FILE}`);
