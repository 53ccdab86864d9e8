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
  runGitlabJob,
  type StepLog,
  startCiWorld,
} from './ci-harness.js';

/**
 * The GitLab CI template (ci/gitlab/agentgate.gitlab-ci.yml) and the example
 * pipeline (examples/gitlab/.gitlab-ci.yml), run as the runner's shell
 * executor would: the job's `id_tokens:` entry minted by the testkit's
 * GitLab-style issuer with the template's `aud`, the template's
 * before_script (`agentgate ci env --source gitlab`) and the example's
 * script in one shell; afterwards a plain `git push`, the official `openai`
 * client and skopeo go through the gateway (behind TLS) with nothing else set.
 */
describe('ci - GitLab template and the example pipeline', () => {
  let w: CiWorld;
  let log: StepLog;
  let tokens: Record<string, string>;
  before(async () => {
    w = await startCiWorld();
    w.model.script(() => ({ text: 'The GitLab agent added a changelog entry.' }));
    ({ log, tokens } = await runGitlabJob(w, {
      pipeline: join(ROOT, 'examples', 'gitlab', '.gitlab-ci.yml'),
      job: 'agent',
      // As a project's CI/CD variable would: the gateway this test runs instead of the example's host.
      pipelineVariables: { AGENTGATE_GATEWAY: w.front.url },
      // The job image's `agentgate`: this repository's ci/bin wrapper around the bundled ci commands.
      path: [join(ROOT, 'ci', 'bin')],
    }));
  });
  after(async () => {
    await w?.close();
  });

  it("the id token comes from the job's id_tokens entry with the gateway audience; the job never prints it", () => {
    const token = tokens.AGENTGATE_ID_TOKEN as string;
    assert.match(token, /^eyJ/);
    const claims = JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')) as { aud: unknown; iss: string };
    assert.equal(claims.aud, 'agentgate');
    assert.equal(claims.iss, w.gitlab.issuer);
    assert.equal((log.stdout + log.stderr).includes(token), false, 'the job log shows the token');
  });

  it('git push needed no change: the URL was rewritten to the gateway and the commit landed upstream', () => {
    assert.equal(pushedSubject(w), 'agent: add a changelog entry');
    assert.ok(pushedWithBrokeredCredential(w), 'the push reached the git server with the brokered credential');
  });

  it('the openai client reached the model through the gateway', () => {
    assert.match(log.stdout, /The GitLab agent added a changelog entry\./);
    assert.equal(w.model.requests.at(-1)?.raw.includes('Summarise: add a changelog entry'), true);
  });

  it('skopeo promoted the image through the gateway with the credential helper', async () => {
    assert.equal(await promotedManifestStatus(w), 200);
  });

  it('no brokered credential in the job log', () => {
    for (const secret of w.secrets) assert.equal((log.stdout + log.stderr).includes(secret), false, 'the job printed a brokered credential');
  });

  it('the template declares the id token with the audience it passes to ci env, and runs ci env --source gitlab', () => {
    const tpl = parse(readFileSync(join(ROOT, 'ci', 'gitlab', 'agentgate.gitlab-ci.yml'), 'utf8'));
    const job = tpl['.agentgate'];
    assert.equal(job.id_tokens.AGENTGATE_ID_TOKEN.aud, job.variables.AGENTGATE_AUDIENCE);
    assert.match(job.before_script.join('\n'), /ci env --source gitlab --var AGENTGATE_ID_TOKEN/);
    const pipeline = parse(readFileSync(join(ROOT, 'examples', 'gitlab', '.gitlab-ci.yml'), 'utf8'));
    assert.equal(pipeline.include[0].file, 'ci/gitlab/agentgate.gitlab-ci.yml');
    assert.equal(pipeline.agent.extends, '.agentgate');
  });
});
