// npm run build: compiles src/ and db/ to JavaScript in dist/ (run with `node dist/src/main.js`),
// with the files read at run time beside them: the migrations and the demo organizations.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

for (const folder of ['dist/src', 'dist/db']) rmSync(folder, { recursive: true, force: true });
execFileSync(process.execPath, [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
cpSync('db/migrations', 'dist/db/migrations', { recursive: true });
cpSync('db/seed', 'dist/db/seed', { recursive: true, filter: (path) => !path.endsWith('.ts') });
console.log('Built dist/: start it with node dist/src/main.js (the CLI: node dist/src/cli.js).');
