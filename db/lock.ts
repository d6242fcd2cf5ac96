import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataFolderUnavailable } from './client.js';

/** Who holds the embedded data folder; the bot adds where the CLI can reach it. */
export interface LockHolder {
  pid: number;
  cliPort?: number;
  cliToken?: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The operator's line when another process holds the folder. */
export const folderInUse = (dataDir: string, pid: number) =>
  `The data folder ${dataDir} is in use by another csp-ops process (pid ${pid}). Stop it first, or set DATA_DIR to another folder.`;

/** Lock files this process holds: one naming our PID that is not among them was left by an earlier process given the same PID (PID 1 in a container). */
const heldHere = new Set<string>();

/**
 * PGlite lets one process at a time open a data folder, and a second one would
 * corrupt it. Takes the folder's lock file, or returns who holds it. A lock left
 * by a process that died is taken over.
 */
export function acquireDataDirLock(dataDir: string, holder: LockHolder): { acquired: true; release: () => void; update: (h: LockHolder) => void } | { acquired: false; holder: LockHolder } {
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    throw dataFolderUnavailable(dataDir, error);
  }
  const path = join(dataDir, 'csp-ops.lock');
  // Written whole beside the lock, then linked (taken) or renamed (updated) into place: a process reading
  // the lock never finds it empty or half-written.
  const written = (h: LockHolder) => {
    const draft = `${path}.${process.pid}`;
    writeFileSync(draft, JSON.stringify(h), { mode: 0o600 });
    return draft;
  };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const draft = written(holder);
      try {
        linkSync(draft, path);
      } finally {
        rmSync(draft, { force: true });
      }
      heldHere.add(path);
      return {
        acquired: true,
        release: () => {
          heldHere.delete(path);
          rmSync(path, { force: true });
        },
        update: (h) => renameSync(written(h), path),
      };
    } catch (error) {
      // A folder csp-ops may not write in (or a file in its place) is the operator's to fix.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw dataFolderUnavailable(dataDir, error);
      let current: LockHolder;
      try {
        current = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
      } catch {
        // Unreadable: being written this instant, or left half-written long ago.
        if (statSync(path).mtimeMs > Date.now() - 10_000) return { acquired: false, holder: { pid: 0 } };
        current = { pid: 0 };
      }
      const ours = current.pid === process.pid;
      if (current.pid && (ours ? heldHere.has(path) : alive(current.pid))) return { acquired: false, holder: current };
      rmSync(path, { force: true });
    }
  }
  throw new Error(`Could not take the lock on ${dataDir}`);
}
