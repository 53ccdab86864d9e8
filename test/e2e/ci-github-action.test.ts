import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  type CiWorld,
  promotedManifestStatus,
  pushedSubject,
  pushedWithBrokeredCredential,
  ROOT,
  runGithubJob,
  type StepLog,
  startCiWorld,
} from './ci-harness.js';

/**
 * The GitHub Action (action.yml) and the example workflow
 * (examples/github/agent.yml), run as the Actions runner would run them
 * against the testkit's issuer serving tokens the way the Actions runtime
 * does: afterwards a plain `git push`, the official `openai` client and
 * skopeo go through the gateway (behind TLS) with nothing else set.
 */
describe('ci - GitHub Action and the example workflow', () => {
  let w: CiWorld;
  let steps: StepLog[];
  let env: Record<string, string>;
  before(async () => {
    w = await startCiWorld();
    w.model.script(() => ({ text: 'The agent added a changelog entry.' }));
    ({ steps, env } = await runGithubJob(w, {
      workflow: join(ROOT, 'examples', 'github', 'agent.yml'),
      job: 'agent',
      inputs: { task: 'add a changelog entry' },
      withOverrides: { gateway: w.front.url },
    }));
  });
  after(async () => {
    await w?.close();
  });

  it('the action asks the runtime for a token with the gateway audience and masks it before anything else', () => {
    const rt = w.github.actions;
    assert.ok(rt && rt.requests >= 1);
    assert.ok(
      rt.audiences.every((a) => a === 'agentgate'),
      rt.audiences.join(','),
    );
    const action = steps[0] as StepLog;
    const token = env.OPENAI_API_KEY as string;
    assert.match(token, /^eyJ/);
    const lines = action.stdout.split('\n');
    assert.equal(lines[0], `::add-mask::${token}`, 'the first line masks the token');
    assert.equal(lines.slice(1).join('\n').includes(token), false);
    assert.equal(action.stderr.includes(token), false);
  });

  it('git push needed no change: the URL was rewritten to the gateway and the commit landed upstream', () => {
    const push = steps.find((s) => s.name.startsWith('Change and push')) as StepLog;
    assert.ok(push);
    assert.equal(pushedSubject(w), 'agent: add a changelog entry');
    assert.ok(pushedWithBrokeredCredential(w), 'the push reached the git server with the brokered credential');
  });

  it('the openai client reached the model through the gateway with the OIDC token as its key', () => {
    const ask = steps.find((s) => s.name.startsWith('Ask the model')) as StepLog;
    assert.match(ask.stdout, /The agent added a changelog entry\./);
    assert.ok(env.OPENAI_BASE_URL?.startsWith(`${w.front.url}/openai`));
    assert.equal(w.model.requests.at(-1)?.raw.includes('Summarise: add a changelog entry'), true);
  });

  it('skopeo promoted the image through the gateway with the credential helper', async () => {
    assert.equal(await promotedManifestStatus(w), 200);
  });

  it('no brokered credential and no unmasked token in any step output; later steps still get a fresh token from the helper', async () => {
    for (const s of steps)
      for (const secret of w.secrets) assert.equal((s.stdout + s.stderr).includes(secret), false, `${s.name} printed a brokered credential`);
    const token = env.OPENAI_API_KEY as string;
    for (const s of steps.slice(1)) assert.equal((s.stdout + s.stderr).includes(token), false, `${s.name} printed the token`);
  });

  it("the workflow grants id-token: write and uses this repository's action; the action is composite and calls the CLI bundle", () => {
    const wf = parse(readFileSync(join(ROOT, 'examples', 'github', 'agent.yml'), 'utf8'));
    assert.equal(wf.permissions['id-token'], 'write');
    const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8'));
    assert.equal(action.runs.using, 'composite');
    assert.deepEqual(Object.keys(action.inputs).sort(), ['audience', 'connections', 'gateway', 'refresh-before']);
    assert.equal(action.inputs.gateway.required, true);
    assert.match(action.runs.steps[0].run, /ci\/dist\/agentgate-ci\.mjs" env --source github --format github/);
  });
});
