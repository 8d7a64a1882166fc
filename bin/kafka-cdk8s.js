#!/usr/bin/env node
// Shim: runs the compiled CLI (npm install builds it); falls back to the
// TypeScript sources through tsx in a development checkout.
import { existsSync } from 'node:fs';
import module from 'node:module';

// Node >= 22.1 caches compiled code between runs: module loading is most of a small synth.
module.enableCompileCache?.();

const compiled = new URL('../build/bin/main.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('./main.ts', import.meta.url).href);
}
