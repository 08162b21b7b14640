// The type of the validator beside it, which `npm run gen` writes: tsc reads this instead of
// inferring types from 600 kB of generated JavaScript (5 s of every type check).
import type { ValidateFunction } from 'ajv';

declare const validate: ValidateFunction;
export default validate;
