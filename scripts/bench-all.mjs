#!/usr/bin/env node
// `npm run bench`: runs every `bench:<name>` script in package.json, one after another.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const { scripts } = JSON.parse(readFileSync('package.json', 'utf8'));
let failures = 0;
for (const name of Object.keys(scripts).filter((key) => key.startsWith('bench:'))) {
  console.error(`== npm run ${name}`);
  const result = spawnSync('npm', ['run', '--silent', name], { stdio: 'inherit' });
  if (result.status !== 0) failures += 1;
}
process.exit(failures === 0 ? 0 : 1);
