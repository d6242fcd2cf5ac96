// npm run build, and before each npm start and after npm install: compiles src/ and db/ to JavaScript
// in dist/ (run with `node dist/src/main.js`) with esbuild, the transform tsx and vitest apply too
// (`npm test` type-checks with tsc); copies the files read at run time beside them (the migrations
// and the demo organizations); and makes the embedded database's template when the migrations or the
// PGlite release changed since the last one. Files whose contents did not change are left alone, so
// a build beside a running bot rewrites nothing it may still load.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const quiet = process.argv.includes('--quiet');
const started = performance.now();

/** Writes a file only when its contents differ, through a rename so no reader sees half of it. */
function put(path, contents) {
  if (existsSync(path) && readFileSync(path).equals(contents)) return false;
  mkdirSync(dirname(path), { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, contents);
  renameSync(partial, path);
  return true;
}

const filesUnder = (folder, keep) => readdirSync(join(root, folder), { recursive: true }).map((name) => join(folder, name)).filter((path) => keep(path) && statSync(join(root, path)).isFile());

const sources = [...filesUnder('src', (p) => p.endsWith('.ts')), ...filesUnder('db', (p) => p.endsWith('.ts'))];
const copied = [...filesUnder('db/migrations', () => true), ...filesUnder('db/seed', (p) => !p.endsWith('.ts'))];
// What the JavaScript is made from: unchanged since the last build (the usual npm start), esbuild is not even loaded.
const inputs = createHash('sha256');
for (const path of [...sources, ...copied, 'tsconfig.json', 'package-lock.json', 'scripts/build.mjs'].sort()) inputs.update(`${path}\0`).update(readFileSync(join(root, path)));
const inputsStamp = inputs.digest('hex');
const inputsStampPath = join(root, 'dist/.inputs.sha256');
let changed = 0;
if (!existsSync(inputsStampPath) || readFileSync(inputsStampPath, 'utf8') !== inputsStamp || !existsSync(join(root, 'dist/src/main.js'))) {
  const { build } = await import('esbuild');
  const compiled = await build({
    absWorkingDir: root,
    entryPoints: sources,
    outbase: '.',
    outdir: 'dist',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    logLevel: 'warning',
  });
  for (const file of compiled.outputFiles) changed += put(file.path, Buffer.from(file.contents));
  for (const path of copied) changed += put(join(root, 'dist', path), readFileSync(join(root, path)));
  put(inputsStampPath, Buffer.from(inputsStamp));
}

// The template: an embedded database with every migration applied and no data, which a new DATA_DIR
// starts as a copy of (db/client.ts, builtTemplate). Its stamp says which migrations it has.
const pglite = JSON.parse(readFileSync(join(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')), '../package.json'), 'utf8')).version;
const template = join(root, `dist/db/pglite-template-${pglite}`);
const migrations = filesUnder('db/migrations', () => true).sort().map((path) => readFileSync(join(root, path)));
const stamp = createHash('sha256').update(Buffer.concat(migrations)).digest('hex');
if (!existsSync(`${template}.sha256`) || readFileSync(`${template}.sha256`, 'utf8') !== stamp) {
  const { builtTemplate, openDatabase } = await import(join(root, 'dist/db/client.js'));
  if (builtTemplate !== template) throw new Error(`db/client.ts looks for the template at ${builtTemplate}, not ${template}`);
  const partial = join(dirname(template), `.pglite-template-${process.pid}`);
  rmSync(partial, { recursive: true, force: true });
  await (await openDatabase({ dataDir: partial })).close();
  for (const old of readdirSync(dirname(template)).filter((name) => name.startsWith('pglite-template-'))) rmSync(join(dirname(template), old), { recursive: true, force: true });
  try {
    renameSync(partial, template);
  } catch (error) {
    // Another build made it at the same time.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(template)) throw error;
  }
  put(`${template}.sha256`, Buffer.from(stamp));
  changed++;
}
if (!quiet || changed) console.log(`Built dist/ in ${Math.round(performance.now() - started)} ms: start it with node dist/src/main.js (the CLI: node dist/src/cli.js).`);
