import { parse } from '@bufbuild/cel';

type Expr = ReturnType<typeof parse>['expr'];

/** What a condition reads of the action, found in its syntax tree. */
export interface ConditionRefs {
  /** Top-level attribute names read as `attrs.x`, `attrs['x']`, `has(attrs.x)`, `'x' in attrs` or through `action.attributes`. */
  attrs: Set<string>;
  /** String literals compared with `action.kind` (`==`, `!=`, `in [...]`). */
  kinds: Set<string>;
}

/**
 * Lists the attributes and kind literals a CEL condition reads; undefined when it does not
 * parse (compilePolicy reports that). Static only: an attribute named by a computed key
 * (`attrs[x]`) is not listed, so a lint built on this can miss a reference, never invent one.
 */
export function conditionRefs(source: string): ConditionRefs | undefined {
  let expr: Expr | undefined;
  try {
    expr = parse(source).expr;
  } catch {
    return undefined;
  }
  const refs: ConditionRefs = { attrs: new Set(), kinds: new Set() };
  walk(expr, refs);
  return refs;
}

function isIdent(e: Expr | undefined, name: string): boolean {
  return e?.exprKind.case === 'identExpr' && e.exprKind.value.name === name;
}

function isSelect(e: Expr | undefined, operand: string, field: string): boolean {
  return e?.exprKind.case === 'selectExpr' && e.exprKind.value.field === field && isIdent(e.exprKind.value.operand, operand);
}

/** `attrs` or `action.attributes`. */
function isAttrsRoot(e: Expr | undefined): boolean {
  return isIdent(e, 'attrs') || isSelect(e, 'action', 'attributes');
}

function stringConst(e: Expr | undefined): string | undefined {
  if (e?.exprKind.case !== 'constExpr') return undefined;
  const c = e.exprKind.value.constantKind;
  return c.case === 'stringValue' ? c.value : undefined;
}

function stringList(e: Expr | undefined): string[] {
  if (e?.exprKind.case !== 'listExpr') return [];
  return e.exprKind.value.elements.map(stringConst).filter((s): s is string => s !== undefined);
}

function walk(e: Expr | undefined, refs: ConditionRefs): void {
  if (!e) return;
  const k = e.exprKind;
  switch (k.case) {
    case 'selectExpr':
      if (isAttrsRoot(k.value.operand)) refs.attrs.add(k.value.field);
      walk(k.value.operand, refs);
      return;
    case 'callExpr': {
      const { function: fn, args, target } = k.value;
      if ((fn === '_[_]' || fn === '_[?_]') && isAttrsRoot(args[0])) {
        const key = stringConst(args[1]);
        if (key !== undefined) refs.attrs.add(key);
      }
      if (fn === '@in' && isAttrsRoot(args[1])) {
        const key = stringConst(args[0]);
        if (key !== undefined) refs.attrs.add(key);
      }
      if ((fn === '_==_' || fn === '_!=_') && args.length === 2) {
        const [a, b] = args;
        const lit = isSelect(a, 'action', 'kind') ? stringConst(b) : isSelect(b, 'action', 'kind') ? stringConst(a) : undefined;
        if (lit !== undefined) refs.kinds.add(lit);
      }
      if (fn === '@in' && isSelect(args[0], 'action', 'kind')) for (const s of stringList(args[1])) refs.kinds.add(s);
      walk(target, refs);
      for (const a of args) walk(a, refs);
      return;
    }
    case 'listExpr':
      for (const el of k.value.elements) walk(el, refs);
      return;
    case 'structExpr':
      for (const entry of k.value.entries) {
        if (entry.keyKind.case === 'mapKey') walk(entry.keyKind.value, refs);
        walk(entry.value, refs);
      }
      return;
    case 'comprehensionExpr': {
      const c = k.value;
      for (const part of [c.iterRange, c.accuInit, c.loopCondition, c.loopStep, c.result]) walk(part, refs);
      return;
    }
    default:
      return;
  }
}
