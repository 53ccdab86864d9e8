#!/usr/bin/env node
/**
 * Lists the longest functions in the given folders (default: services/), so the
 * house rule "no function in services/ over 80 lines" can be checked by anyone:
 *
 *   node scripts/longest-functions.mjs [--max 80] [--top 20] [dir ...]
 *
 * A function is any function declaration, method, accessor, constructor, function
 * expression or arrow function with a block body; its length is the number of
 * lines from its first to its last token. Nested functions count separately
 * and also inside their parent (a parent's length is its whole text). Test files
 * (`*.test.ts`, `test/`) are left out: the rule is about the product's code.
 * Exits 1 when --max is given and a function exceeds it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const args = process.argv.slice(2);
let max;
let top = 20;
const dirs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--max') max = Number(args[++i]);
  else if (args[i] === '--top') top = Number(args[++i]);
  else if (args[i] === '--help' || args[i] === '-h') {
    console.log('usage: node scripts/longest-functions.mjs [--max N] [--top N] [dir ...]');
    process.exit(0);
  } else dirs.push(args[i]);
}
if (dirs.length === 0) dirs.push('services');

/** @param {string} dir @returns {string[]} */
function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'test') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.tsx?$/.test(name) && !/\.(test|d)\.tsx?$/.test(name)) out.push(path);
  }
  return out;
}

/** @param {ts.Node} node */
function nameOf(node) {
  if (node.name && ts.isIdentifier(node.name)) return node.name.text;
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (parent && ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return '<anonymous>';
}

const found = [];
for (const dir of dirs) {
  for (const file of sourceFiles(dir)) {
    const text = readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node) => {
      const isFn =
        ts.isFunctionDeclaration(node) ||
        ts.isMethodDeclaration(node) ||
        ts.isConstructorDeclaration(node) ||
        ts.isGetAccessorDeclaration(node) ||
        ts.isSetAccessorDeclaration(node) ||
        ts.isFunctionExpression(node) ||
        (ts.isArrowFunction(node) && ts.isBlock(node.body));
      if (isFn && node.body) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
        found.push({ file: relative(process.cwd(), file), line: start + 1, name: nameOf(node), lines: end - start + 1 });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
}
found.sort((a, b) => b.lines - a.lines);
for (const f of found.slice(0, top)) console.log(`${String(f.lines).padStart(4)}  ${f.file}:${f.line}  ${f.name}`);
if (max !== undefined) {
  const over = found.filter((f) => f.lines > max);
  console.log(`${over.length} function(s) over ${max} lines`);
  process.exit(over.length > 0 ? 1 : 0);
}
