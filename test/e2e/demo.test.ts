import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '@agentgate/cli';

test('demo - one process: push allowed, force-push denied and linked to its tool call, prompt secret masked, trail printed', async () => {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['demo'], { out: (l) => out.push(l), err: (l) => err.push(l) });
  const text = out.join('\n');
  assert.equal(code, 0, `demo failed: ${err.join('\n')}\n${text}`);
  assert.match(text, /git push origin main → pushed/);
  assert.match(text, /git push --force origin main → refused: .*force-push denied by rule no-force-push-protected/);
  assert.match(text, /the model received the password: no/);
  const trail = text.slice(text.indexOf('$ agentgate trail'));
  const lines = trail.split('\n');
  const step = (re: RegExp): number => lines.findIndex((l) => re.test(l));
  // prompt → tool call → action → decision (rule) → outcome, in order, each action linked to the exchange that proposed it.
  const ex1 = step(/^\s+1\. .*llm exchange model gpt-4o-mini .*completed 200/);
  const push = step(/git\.push refs\/heads\/main \(fast-forward\)\s+allowed \(rule git-ok\) → completed 200/);
  const ex2 = step(/llm exchange model gpt-4o-mini/);
  const force = step(/git\.force_push refs\/heads\/main \(force-push\)\s+DENIED \(rule no-force-push-protected\)/);
  assert.ok(ex1 >= 0 && push > ex1 && force > push && ex2 >= 0, trail);
  assert.match(lines[ex1 + 1] ?? '', /prompt: "Add a CHANGELOG entry/);
  assert.match(lines[ex1 + 2] ?? '', /tool call bash \[call_push\]: git add CHANGELOG\.md .* git push origin main/);
  assert.match(lines[push + 1] ?? '', /proposed by step 1 tool call call_push \(tool-call-match\)/);
  assert.match(lines[force + 1] ?? '', /proposed by step \d+ tool call call_force \(tool-call-match\)/);
  assert.match(trail, /prompt: "The deploy failed: .*DB_PASSWORD=\[REDACTED:secret:db-password\]/);
  assert.match(trail, /! 1 secret\(s\) masked: db-password/);
});
