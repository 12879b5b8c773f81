// The TypeScript declarations compile and describe the API as an app uses
// it (test/types-usage.ts: every entry point, both bindings), with strict
// checks and nothing skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

test('the .d.ts files type-check an app\'s use of the library, the hook and the composable', () => {
  let out = '';
  try {
    execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
      '--moduleResolution', 'nodenext', '--lib', 'es2022,dom', join(here, 'types-usage.ts')], { encoding: 'utf8' });
  } catch (err) {
    out = `${err.stdout}${err.stderr}`;
  }
  assert.equal(out, '', out);
});
