import type { ForgeKind } from './kinds.js';

/** A forge action before its base attributes are filled in. */
export interface Draft {
  readonly kind: ForgeKind;
  /** Base attributes this call knows (`owner`, `repo`, `branch`, `setting`, `operation`) and the kind's own. */
  readonly attrs: Readonly<Record<string, unknown>>;
}

/** A ref moved or deleted through the API: its kind is decided by ancestry (refs.ts), as for a git push. */
export interface RefDraft {
  readonly ref: {
    readonly owner: string | null;
    readonly repo: string | null;
    /** Full ref name (`refs/heads/main`), or null when the call names it by node id (GraphQL). */
    readonly name: string | null;
    readonly op: 'update' | 'delete';
    /** The commit asked for (null for a deletion or when not given). */
    readonly newSha: string | null;
    readonly force: boolean;
  };
  readonly attrs: Readonly<Record<string, unknown>>;
  /**
   * How to forward the call once the update is proven a fast-forward: the
   * body with `force: false`, so the forge itself refuses it should the
   * branch move between the gateway's check and the update.
   */
  readonly unforced?: (body: unknown) => unknown;
}

export type AnyDraft = Draft | RefDraft;

/** What a route table found for one call. */
export interface RouteMatch {
  /** The actions depend on the JSON body: read it (bounded) before calling `actions`. */
  readonly needsBody: boolean;
  /** The call's actions; an empty list means the call is no forge action (it stays `http.<method>`). */
  actions(body: unknown): AnyDraft[];
}

export const isRefDraft = (d: AnyDraft): d is RefDraft => 'ref' in d;

/** A JSON object's field, or undefined when the body is no object. */
export function field(body: unknown, name: string): unknown {
  return body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>)[name] : undefined;
}

/** A field as a string, or null. */
export function str(body: unknown, name: string): string | null {
  const v = field(body, name);
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}

/** True when the object has the field at all (even null: `{"private": null}` is still an attempt to set it). */
export function has(body: unknown, name: string): boolean {
  return body !== null && typeof body === 'object' && !Array.isArray(body) && Object.hasOwn(body, name);
}
