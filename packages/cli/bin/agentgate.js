#!/usr/bin/env node
// The `agentgate` command of a checkout or an install. With the TypeScript sources and tsx
// at hand (a checkout after `npm ci`: `npx agentgate …`), it runs src/bin.ts in this
// process through tsx, resolving our workspace packages to their sources (the
// `agentgate-source` export condition, as `npm test` and `npm start` do); nothing needs to
// be built, and an edit is live at the next run. Otherwise (a built install) it runs
// dist/bin.js. The container image links dist/bin.js directly and never runs this file.
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const source = fileURLToPath(new URL('../src/bin.ts', import.meta.url));
const built = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** tsx's loader, if this install has it (a devDependency of the workspace root). */
async function loadTsx() {
  try {
    return await import('tsx');
  } catch {
    return undefined;
  }
}

// Hooks run last-registered first: this one adds the condition, then tsx resolves and compiles.
const ADD_SOURCE_CONDITION =
  'export async function resolve(specifier, context, next) {' +
  " return next(specifier, { ...context, conditions: [...new Set([...context.conditions, 'agentgate-source'])] }); }";

if (existsSync(source) && (await loadTsx())) {
  register(`data:text/javascript,${encodeURIComponent(ADD_SOURCE_CONDITION)}`);
  await import(pathToFileURL(source).href);
} else if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  process.stderr.write('agentgate: neither tsx with src/bin.ts nor dist/bin.js is here: run `npm ci` (or `npm run build`) in the checkout first\n');
  process.exitCode = 2;
}
