import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type DockerCli, dockerCli, kubectlPath } from '@agentgate/testkit';
import { actionOf, auditDocs, CI_KUBE_NAMESPACE, type CiWorld, eventually, ROOT, run, runGithubJob, type StepLog, startCiWorld } from './ci-harness.js';

/**
 * The second example workflow (examples/github/agent-platform.yml) run as the
 * Actions runner would: after this repository's action, an MCP client (the
 * official SDK), kubectl against a real kube-apiserver and the docker CLI
 * with a real Docker engine all go through the gateway (behind TLS) with the
 * job's OIDC token as their only credential.
 */
const TASK = 'rotate the release notes';

describe('ci - platform workflow: MCP, kubectl and docker through the gateway', () => {
  let w: CiWorld;
  let docker: DockerCli;
  let engineLog0 = 0;
  let steps: StepLog[];
  let env: Record<string, string>;
  before(async () => {
    docker = await dockerCli();
    engineLog0 = docker.engineLogOffset();
    w = await startCiWorld({ platform: true });
    ({ steps, env } = await runGithubJob(w, {
      workflow: join(ROOT, 'examples', 'github', 'agent-platform.yml'),
      job: 'agent',
      inputs: { task: TASK },
      withOverrides: { gateway: w.front.url },
      path: [dirname(kubectlPath())],
    }));
  });
  after(async () => {
    if (env?.AGENTGATE_REGISTRY_REGISTRY) {
      for (const tag of ['candidate', 'reviewed']) await docker.run(['rmi', '-f', `${env.AGENTGATE_REGISTRY_REGISTRY}/acme/app:${tag}`]);
    }
    docker?.close();
    await w?.close();
  });

  it("the MCP client read through the gateway; the server saw the gateway's key, never the job's token", () => {
    const mcp = w.mcp;
    assert.ok(mcp);
    const step = steps.find((s) => s.name.startsWith('Read the repository')) as StepLog;
    assert.match(step.stdout, /contents of README\.md: hello/);
    assert.deepEqual(
      mcp.calls.map((c) => c.tool),
      ['read_file'],
    );
    assert.ok(mcp.authSeen.length > 0);
    assert.ok(
      mcp.authSeen.every((a) => a === `Bearer ${process.env.CI_TEST_MCP_KEY}`),
      'every MCP request upstream carried the brokered key',
    );
  });

  it('a destructive tool call from the same job is refused by policy and never reaches the server', async () => {
    const r = await run('node', [join(ROOT, 'examples', 'mcp-call.mjs'), 'tools', 'delete_repository', '{"repository":"acme/app"}'], {
      env: env as NodeJS.ProcessEnv,
      cwd: ROOT,
    });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /no-repo-deletion|agents do not delete repositories/);
    assert.equal(
      w.mcp?.calls.some((c) => c.tool === 'delete_repository'),
      false,
    );
    const denied = await eventually('the denied tool call on the record', () =>
      auditDocs(join(w.dir.path, 'audit')).find(
        (d) => actionOf(d) === 'mcp.tools.call' && (d.rule as { name?: string } | undefined)?.name === 'no-repo-deletion',
      ),
    );
    assert.equal((denied.event as { outcome?: string }).outcome, 'failure');
  });

  it("kubectl created the ConfigMap in the connection's namespace with the exec plugin's token", async () => {
    const kube = w.kube;
    assert.ok(kube);
    const step = steps.find((s) => s.name.startsWith('Record the run')) as StepLog;
    assert.ok(step.stdout.trim().endsWith(TASK), step.stdout);
    const got = await kube.kubectl(kube.writeKubeconfig('admin'), ['-n', CI_KUBE_NAMESPACE, 'get', 'configmap', 'agent-run', '-o', 'jsonpath={.data.task}']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, TASK);
    const kc = readFileSync(env.KUBECONFIG as string, 'utf8');
    assert.match(kc, /ci\/dist\/agentgate-ci\.mjs/, "the kubeconfig runs the action's CLI bundle as its exec plugin");
    assert.equal(kc.includes(env.AGENTGATE_TOKEN as string), false, 'no token is written into the kubeconfig');
    await eventually('the create on the record', () => auditDocs(join(w.dir.path, 'audit')).find((d) => actionOf(d)?.startsWith('kubernetes.create')));
  });

  it('docker pulled, tagged and pushed through the gateway: the upstream has the reviewed tag with the same digest', async () => {
    const head = async (tag: string) =>
      fetch(`${w.registry.url}/v2/acme/app/manifests/${tag}`, {
        method: 'HEAD',
        headers: {
          authorization: `Basic ${Buffer.from(`ci:${process.env.CI_TEST_REGISTRY_PASSWORD}`).toString('base64')}`,
          accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
        },
      });
    const reviewed = await head('reviewed');
    assert.equal(reviewed.status, 200);
    const step = steps.find((s) => s.name.startsWith('Publish')) as StepLog;
    assert.match(step.stdout, /reviewed: digest: sha256:[0-9a-f]{64}/);
    await eventually('the push on the record', () => auditDocs(join(w.dir.path, 'audit')).find((d) => actionOf(d) === 'registry.push'));
  });

  it("no brokered credential and no token in any step output or in the Docker engine's log", () => {
    const token = env.AGENTGATE_TOKEN as string;
    assert.match(token, /^eyJ/);
    const engineLog = docker.engineLogSince(engineLog0);
    for (const secret of w.secrets) {
      for (const s of steps) assert.equal((s.stdout + s.stderr).includes(secret), false, `${s.name} printed a brokered credential`);
      assert.equal(engineLog.includes(secret), false, 'the engine log holds a brokered credential');
    }
    for (const s of steps.slice(1)) assert.equal((s.stdout + s.stderr).includes(token), false, `${s.name} printed the token`);
    assert.equal(engineLog.includes(token), false, 'the engine log holds the token');
  });
});
