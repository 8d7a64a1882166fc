/**
 * Writes files into a directory the way the kubelet's AtomicWriter updates a ConfigMap or
 * Secret volume (pkg/volume/util/atomic_writer.go), so a test sees exactly what a program
 * in a Pod sees when its ConfigMap changes:
 *
 *   <dir>/..2026_01_02_15_04_05.123456789/<files>   the new payload, in a fresh timestamped dir
 *   <dir>/..data -> ..2026_01_02_15_04_05.123456789 swapped atomically: symlink ..data_tmp, rename over ..data
 *   <dir>/<name> -> ..data/<name>                    one per top-level entry, created once
 *
 * then the names no longer in the payload and the previous timestamped dir are removed.
 * A reader that opens `<dir>/<name>` gets either the old or the new payload, never a mix;
 * a watcher of `<dir>` sees a rename (moved-to) of `..data`, which is what Envoy's
 * `watched_directory` and other ConfigMap-reloading programs wait for.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const DATA_DIR_NAME = '..data';
const DATA_DIR_TMP_NAME = '..data_tmp';

/**
 * Sets `dir`'s payload to `files` (relative path -> content; nested paths allowed, e.g.
 * `certs/tls.crt`). Returns false without touching anything when the payload is already
 * the current one, like the kubelet (no swap, so no reload for watchers).
 */
export function writeAtomicDir(dir: string, files: Readonly<Record<string, string | Buffer>>, mode = 0o644): boolean {
  const names = Object.keys(files).sort();
  for (const name of names) {
    if (name.startsWith('..') || name.startsWith('/') || name.split('/').some((part) => part === '' || part === '..')) {
      throw new Error(`writeAtomicDir: '${name}' is not a plain relative path (the kubelet refuses it too)`);
    }
  }
  mkdirSync(dir, { recursive: true });
  const dataLink = join(dir, DATA_DIR_NAME);
  const oldTsDir = existsSync(dataLink) ? readlinkSync(dataLink) : undefined;
  if (oldTsDir !== undefined && samePayload(join(dir, oldTsDir), files)) return false;

  // 1. The new payload in a fresh timestamped dir (MkdirTemp adds a random suffix).
  const tsDir = mkdtempSync(join(dir, timestampPrefix()));
  for (const name of names) {
    const file = join(tsDir, name);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, files[name]!, { mode });
  }
  // 2. ..data_tmp -> new dir, renamed over ..data: the one atomic step.
  const tmpLink = join(dir, DATA_DIR_TMP_NAME);
  rmSync(tmpLink, { force: true });
  symlinkSync(tsDir.slice(dir.length + 1), tmpLink);
  renameSync(tmpLink, dataLink);
  // 3. User-visible symlinks of the top-level entries, created once (they point through ..data).
  const top = new Set(names.map((n) => n.split('/')[0]!));
  for (const name of top) {
    if (!isSymlink(join(dir, name))) symlinkSync(join(DATA_DIR_NAME, name), join(dir, name));
  }
  // 4. Entries no longer in the payload, then the previous payload.
  if (oldTsDir !== undefined) {
    for (const name of existsSync(join(dir, oldTsDir)) ? readdirSync(join(dir, oldTsDir)) : []) {
      if (!top.has(name)) unlinkSync(join(dir, name));
    }
    rmSync(join(dir, oldTsDir), { recursive: true, force: true });
  }
  return true;
}

/** `..2006_01_02_15_04_05.` in UTC, the kubelet's prefix; its MkdirTemp appends random digits. */
function timestampPrefix(now = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `..${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}.`;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function samePayload(tsDir: string, files: Readonly<Record<string, string | Buffer>>): boolean {
  const want = Object.keys(files).sort();
  const have = listFiles(tsDir).sort();
  if (want.length !== have.length || want.some((n, i) => n !== have[i])) return false;
  return want.every((n) => readFileSync(join(tsDir, n)).equals(Buffer.from(files[n]!)));
}

function listFiles(root: string, prefix = ''): string[] {
  if (!existsSync(join(root, prefix))) return [];
  return readdirSync(join(root, prefix), { withFileTypes: true }).flatMap((e) => {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    return e.isDirectory() ? listFiles(root, rel) : [rel];
  });
}
