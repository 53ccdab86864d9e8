import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { requireBinary, tempDir } from '@agentgate/testkit';
import { ROOT, run } from './ci-harness.js';

/**
 * The workflow files as GitHub and GitLab would read them: actionlint on the
 * example workflow, and the SchemaStore schemas (shipped by check-jsonschema)
 * on the workflow, the action and the GitLab files. Both tools are installed
 * by .ci/install-ci-tools.sh.
 */
const INSTALL = 'bash .ci/install-ci-tools.sh';
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
const dir = tempDir('ci-lint');
after(() => dir.cleanup());

describe('ci - workflow files lint', () => {
  it('actionlint passes the example workflows, and fails a copy that reads an input it does not declare', async () => {
    const actionlint = requireBinary('actionlint', INSTALL);
    const workflow = join(ROOT, 'examples', 'github', 'agent.yml');
    for (const wf of [workflow, join(ROOT, 'examples', 'github', 'agent-platform.yml')]) {
      const ok = await run(actionlint, ['-no-color', wf], { env, cwd: ROOT });
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    }
    // The check is live: the same workflow with an undeclared input is refused.
    const broken = join(dir.path, 'broken.yml');
    writeFileSync(broken, readFileSync(workflow, 'utf8').replace('${{ inputs.task }}', '${{ inputs.undeclared }}'));
    const bad = await run(actionlint, ['-no-color', broken], { env, cwd: ROOT });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stdout, /undeclared/);
  });

  it('the workflow, the action and the GitLab files validate against their SchemaStore schemas', async () => {
    const check = requireBinary('check-jsonschema', INSTALL);
    const cases: Array<[string, string]> = [
      ['vendor.github-workflows', join(ROOT, 'examples', 'github', 'agent.yml')],
      ['vendor.github-workflows', join(ROOT, 'examples', 'github', 'agent-platform.yml')],
      ['vendor.github-actions', join(ROOT, 'action.yml')],
      ['vendor.gitlab-ci', join(ROOT, 'examples', 'gitlab', '.gitlab-ci.yml')],
      ['vendor.gitlab-ci', join(ROOT, 'ci', 'gitlab', 'agentgate.gitlab-ci.yml')],
    ];
    for (const [schema, file] of cases) {
      const r = await run(check, ['--builtin-schema', schema, file], { env, cwd: ROOT });
      assert.equal(r.code, 0, `${file}: ${r.stdout}${r.stderr}`);
    }
    // A script line that YAML reads as a mapping (an unquoted `: `) is what the schema catches.
    const broken = join(dir.path, '.gitlab-ci.yml');
    writeFileSync(broken, 'job:\n  script:\n    - git commit -m "agent: x"\n');
    const bad = await run(check, ['--builtin-schema', 'vendor.gitlab-ci', broken], { env, cwd: ROOT });
    assert.notEqual(bad.code, 0);
  });
});
