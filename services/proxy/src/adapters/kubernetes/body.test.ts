import assert from 'node:assert/strict';
import { test } from 'node:test';
import { replicasEffect } from './body.js';

const eff = (body: unknown, type: string, raw = false) => replicasEffect(Buffer.from(raw ? String(body) : JSON.stringify(body)), type, undefined);

test('kubernetes body - replicas of each patch type', () => {
  assert.equal(eff({ spec: { replicas: 0 } }, 'application/merge-patch+json'), 0);
  assert.equal(eff({ spec: { replicas: 3 } }, 'application/strategic-merge-patch+json; charset=utf-8'), 3);
  assert.equal(eff({ spec: { template: {} } }, 'application/strategic-merge-patch+json'), 'unset');
  assert.equal(eff({ spec: { replicas: null } }, 'application/merge-patch+json'), 'unset');
  assert.equal(eff({ kind: 'Deployment', spec: { replicas: 0 } }, 'application/json'), 0);
  assert.equal(eff({ kind: 'Deployment', spec: { selector: {} } }, 'application/json'), 'unset');
  assert.equal(eff({ spec: { replicas: '0' } }, 'application/merge-patch+json'), 'unknown');
});

test('kubernetes body - JSON patch: the last operation on spec.replicas wins', () => {
  const p = (ops: unknown[]) => eff(ops, 'application/json-patch+json');
  assert.equal(p([{ op: 'replace', path: '/spec/replicas', value: 0 }]), 0);
  assert.equal(
    p([
      { op: 'replace', path: '/spec/replicas', value: 0 },
      { op: 'replace', path: '/spec/replicas', value: 2 },
    ]),
    2,
  );
  assert.equal(
    p([
      { op: 'test', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/spec', value: { replicas: 0 } },
    ]),
    0,
  );
  assert.equal(p([{ op: 'replace', path: '', value: { spec: { replicas: 0 } } }]), 0);
  assert.equal(p([{ op: 'copy', from: '/metadata/x', path: '/spec/replicas' }]), 'unknown');
  assert.equal(p([{ op: 'remove', path: '/spec/replicas' }]), 'unset');
  assert.equal(p([{ op: 'replace', path: '/metadata/labels/a', value: 'b' }]), 'unset');
  assert.throws(() => p([{ path: '/spec/replicas' }]), { code: 'ERR_KUBE_BODY_MALFORMED' });
  assert.throws(() => eff({ op: 'replace' }, 'application/json-patch+json'), { code: 'ERR_KUBE_BODY_MALFORMED' });
});

test('kubernetes body - server-side apply (YAML or JSON) and YAML updates', () => {
  const yaml = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 0\n';
  assert.equal(eff(yaml, 'application/apply-patch+yaml', true), 0);
  assert.equal(eff(yaml.replace('replicas: 0', 'replicas: 4'), 'application/yaml', true), 4);
  assert.equal(eff({ apiVersion: 'apps/v1', spec: { replicas: 0 } }, 'application/apply-patch+yaml'), 0);
  // Aliases are capped: a "billion laughs" document is refused, not expanded.
  const bomb = `a: &a [x,x,x,x,x,x,x,x,x,x]\n${Array.from(
    { length: 8 },
    (_, i) =>
      `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
        .fill(`*${String.fromCharCode(97 + i)}`)
        .join(',')}]`,
  ).join('\n')}\nspec: {replicas: 0}\n`;
  assert.throws(() => eff(bomb, 'application/apply-patch+yaml', true), { code: 'ERR_KUBE_BODY_MALFORMED' });
});

test('kubernetes body - bodies the gateway cannot read are refused, never guessed', () => {
  assert.throws(() => eff({ spec: { replicas: 0 } }, 'application/vnd.kubernetes.protobuf'), { code: 'ERR_KUBE_BODY_UNSUPPORTED' });
  assert.throws(() => eff({ spec: { replicas: 0 } }, 'application/apply-patch+cbor'), { code: 'ERR_KUBE_BODY_UNSUPPORTED' });
  assert.throws(() => eff({}, ''), { code: 'ERR_KUBE_BODY_UNSUPPORTED' });
  assert.throws(() => replicasEffect(Buffer.from('{}'), 'application/json', 'gzip'), { code: 'ERR_KUBE_BODY_UNSUPPORTED' });
  assert.throws(() => eff('{"spec": ', 'application/merge-patch+json', true), { code: 'ERR_KUBE_BODY_MALFORMED' });
  assert.throws(() => eff('[1]', 'application/merge-patch+json', true), { code: 'ERR_KUBE_BODY_MALFORMED' });
});

test('kubernetes body - DeleteOptions: dryRun (where kubectl puts --dry-run=server), unreadable bodies count as real deletes', async () => {
  const { deleteOptions } = await import('./body.js');
  assert.deepEqual(deleteOptions(Buffer.from('{"propagationPolicy":"Background","dryRun":["All"]}'), 'application/json'), {
    dryRun: true,
    propagationPolicy: 'Background',
  });
  assert.deepEqual(deleteOptions(Buffer.from('{"gracePeriodSeconds":0}'), 'application/json'), { dryRun: false, gracePeriodSeconds: 0 });
  assert.deepEqual(deleteOptions(Buffer.from('{"dryRun":'), 'application/json'), { dryRun: false });
  assert.deepEqual(deleteOptions(Buffer.from('k8s\u0000'), 'application/vnd.kubernetes.protobuf'), { dryRun: false });
});
