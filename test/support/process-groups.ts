/**
 * Process groups the test bed starts (Pods' containers and probes, Alertmanager): killed
 * whole, and killed on the test process's exit or on SIGINT/SIGTERM/SIGHUP, so that a
 * failing or interrupted test never leaves a server behind.
 */
import { constants as osConstants } from 'node:os';

const cleanups = new Set<() => void>();
let hooksInstalled = false;

/** Sends `signal` to every process of group `pgid`; a group already gone is fine. */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** Runs `cleanup` when the test process ends (normally or by a signal); returns its removal. */
export function atExit(cleanup: () => void): () => void {
  installHooks();
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** Kills group `pgid` when the test process ends, unless released first. */
export function killAtExit(pgid: number): () => void {
  return atExit(() => killGroup(pgid, 'SIGKILL'));
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const runAll = (): void => {
    for (const c of cleanups) c();
    cleanups.clear();
  };
  process.on('exit', runAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      runAll();
      process.exit(128 + (osConstants.signals[sig] ?? 0));
    });
  }
}
