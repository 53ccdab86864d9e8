import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { DoubleReply, DoubleRequest } from './model-double.js';

/** The user name git sends with the CI token as password (the gateway ignores it). */
export const DEMO_GIT_USER = 'x-access-token';

/**
 * What the scripted agent has: its CI token, the password it will paste into
 * a prompt, a working directory, and a way to ask the model double what it
 * received. The agent never holds a credential of an upstream.
 */
export interface DemoAgent {
  /** A CI token of the agent's run (one session). */
  token(): Promise<string>;
  /** A token of a release manager (another person) who approves the held deployment; without it the held step is left out. */
  approverToken?: () => Promise<string>;
  /** A secret the agent pastes into a prompt (the broker knows it, so the gateway masks it). */
  dbPassword: string;
  /** Directory for the agent's home and clone. */
  workDir: string;
  /** Which of `needles` reached the model double (bodies and headers). */
  modelSaw(needles: string[]): Promise<boolean[]>;
}

/** What the scripted session saw, for the demo's summary and for tests. */
export interface DemoSessionResult {
  token: string;
  pushExit: number;
  forcePushExit: number;
  /** The refusal git printed for the force-push. */
  forcePushError: string;
  /** The held deployment: its approval id and the status the agent finally got (absent when the step was left out). */
  held?: { approvalId: string; status: number };
  /** Whether the pasted secret reached the model double (it must not). */
  secretReachedModel: boolean;
  /** Whether any request reaching the model carried the CI token (it must not). */
  tokenReachedModel: boolean;
}

const PUSH = "git add CHANGELOG.md && git commit -m 'docs: changelog for 1.2' && git push origin main";
const FORCE = "git commit --amend -m 'docs: changelog for release 1.2' && git push --force origin main";

/** The model double's script: what a coding model would propose at each turn. */
export function demoScript(req: DoubleRequest): DoubleReply {
  const text = JSON.stringify(req.body.messages ?? req.body.input ?? '');
  if (text.includes('CHANGELOG'))
    return { text: 'I will add the entry and push it.', toolCalls: [{ id: 'call_push', name: 'bash', arguments: { command: PUSH } }] };
  if (text.includes('typo'))
    return { text: 'Amending the commit and updating main.', toolCalls: [{ id: 'call_force', name: 'bash', arguments: { command: FORCE } }], delayMs: 5 };
  return { text: 'Never paste credentials into a prompt; rotate that password and read it from the secret store instead.', delayMs: 5 };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: 120_000 }, (err, _stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stderr: err && (err as { code?: unknown }).code === 'ENOENT' ? `${cmd} not found (install git)` : String(stderr) });
    });
  });
}

/**
 * The held step: the agent asks for a production deployment (policy holds it
 * for a release manager); meanwhile a release manager — another person, with
 * their own token — finds it in the approvals API and approves it; then the
 * agent's request goes through.
 */
async function heldDeployment(
  gatewayUrl: string,
  token: string,
  approverToken: string,
  say: (line: string) => void,
): Promise<{ approvalId: string; status: number }> {
  say('agent runs: POST /deploy/deployments {"environment":"production","ref":"main"}');
  const request = fetch(`${gatewayUrl}/deploy/deployments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ environment: 'production', ref: 'main' }),
  });
  const approver = { authorization: `Bearer ${approverToken}` };
  let approvalId = '';
  const until = Date.now() + 60_000;
  while (!approvalId && Date.now() < until) {
    const r = await fetch(`${gatewayUrl}/_agentgate/approvals`, { headers: approver });
    const body = (await r.json().catch(() => ({}))) as { approvals?: Array<{ id: string; connection: string; status: string }> };
    if (!r.ok) throw new Error(`the approvals API answered ${r.status}: ${JSON.stringify(body).slice(0, 300)}`);
    approvalId = body.approvals?.find((a) => a.connection === 'deploy' && a.status === 'pending')?.id ?? '';
    if (!approvalId) await new Promise((r2) => setTimeout(r2, 250));
  }
  if (!approvalId) throw new Error('the deployment was not held for approval within 60 s');
  say(`gateway → agent: held for approval ${approvalId} (rule deploys-need-approval)`);
  const decided = await fetch(`${gatewayUrl}/_agentgate/approvals/${approvalId}/approve`, {
    method: 'POST',
    headers: { ...approver, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'release 1.2 is signed off' }),
  });
  if (!decided.ok) throw new Error(`approving ${approvalId} failed: ${decided.status} ${(await decided.text()).slice(0, 300)}`);
  say(`release manager → gateway: approve ${approvalId} ("release 1.2 is signed off")`);
  const res = await request;
  await res.arrayBuffer();
  say(`agent's deployment request → ${res.status === 201 ? 'created (201)' : `failed (${res.status})`}`);
  return { approvalId, status: res.status };
}

/**
 * Plays a scripted agent session through the gateway at `gatewayUrl`: the
 * agent asks the model (official `openai` client) what to do and runs what
 * it proposes with the real git CLI: a push to main (allowed), a force-push
 * rewriting main (denied), a production deployment held until a release
 * manager approves it (when the agent has an approver), then pastes a
 * database password into a prompt (masked before it reaches the model). The
 * agent holds only its CI token.
 */
export async function playDemoSession(agent: DemoAgent, gatewayUrl: string, say: (line: string) => void): Promise<DemoSessionResult> {
  const token = await agent.token();
  const model = new OpenAI({ apiKey: token, baseURL: `${gatewayUrl}/model`, maxRetries: 0 });
  const home = join(agent.workDir, `agent-home-${Date.now()}`);
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, '.gitconfig'),
    [
      '[user]',
      '\tname = agent',
      '\temail = agent@acme.invalid',
      '[credential]',
      `\thelper = "!f() { echo username=${DEMO_GIT_USER}; echo password=$AGENTGATE_CI_TOKEN; }; f"`,
      '',
    ].join('\n'),
  );
  const env = { PATH: process.env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', AGENTGATE_CI_TOKEN: token, LANG: 'C' };
  const work = join(home, 'app');
  const sh = (command: string) => run('/bin/sh', ['-c', command], work, env);

  say('agent → model: "Add a CHANGELOG entry for release 1.2 and push it to main."');
  const r1 = await model.chat.completions.create({
    model: 'gpt-4o-mini',
    max_tokens: 500,
    messages: [
      { role: 'system', content: 'You are a coding agent in CI. Use the bash tool.' },
      { role: 'user', content: 'Add a CHANGELOG entry for release 1.2 and push it to main.' },
    ],
    tools: [{ type: 'function', function: { name: 'bash', parameters: { type: 'object', properties: { command: { type: 'string' } } } } }],
  });
  const call1 = r1.choices[0]?.message.tool_calls?.[0];
  const cmd1 = call1?.type === 'function' ? (JSON.parse(call1.function.arguments) as { command: string }).command : PUSH;
  say(`model → agent: tool call bash: ${cmd1}`);
  const cloned = await run('git', ['clone', '-q', `${gatewayUrl}/git/app.git`, work], home, env);
  if (cloned.code !== 0) throw new Error(`git clone through the gateway failed: ${cloned.stderr.slice(-500)}`);
  writeFileSync(join(work, 'CHANGELOG.md'), `# Changelog\n\n## 1.2\n- changelog entry (${new Date().toISOString()})\n`);
  const push = await sh(cmd1);
  say(`agent runs it: git push origin main → ${push.code === 0 ? 'pushed' : `failed (${push.stderr.trim().split('\n').pop()})`}`);

  say('agent → model (streaming): "The commit message has a typo. Fix it on main."');
  const s2 = await model.chat.completions.create({
    model: 'gpt-4o-mini',
    stream: true,
    messages: [{ role: 'user', content: 'The commit message has a typo. Fix it on main.' }],
  });
  let args2 = '';
  for await (const chunk of s2) for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) args2 += tc.function?.arguments ?? '';
  const cmd2 = args2 ? (JSON.parse(args2) as { command: string }).command : FORCE;
  say(`model → agent: tool call bash: ${cmd2}`);
  const force = await sh(cmd2);
  const forceLine =
    force.stderr
      .split('\n')
      .find((l) => /rejected|denied|error/i.test(l))
      ?.trim() ??
    force.stderr.trim().split('\n').pop() ??
    '';
  say(`agent runs it: git push --force origin main → ${force.code === 0 ? 'pushed (!)' : `refused: ${forceLine}`}`);

  const held = agent.approverToken ? await heldDeployment(gatewayUrl, token, await agent.approverToken(), say) : undefined;

  const leaky = `The deploy failed: FATAL password authentication failed for user app (DB_PASSWORD=${agent.dbPassword}). What should I do?`;
  say('agent → model (streaming): "The deploy failed: FATAL password authentication failed (DB_PASSWORD=<the real password>)…"');
  const s3 = await model.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: leaky }] });
  let answer = '';
  for await (const chunk of s3) answer += chunk.choices[0]?.delta.content ?? '';
  say(`model → agent: "${answer}"`);

  const [secretReachedModel = true, tokenReachedModel = true] = await agent.modelSaw([agent.dbPassword, token]);
  say(`the model received the password: ${secretReachedModel ? 'YES (!)' : 'no, it was masked by the gateway'}`);
  return { token, pushExit: push.code, forcePushExit: force.code, forcePushError: forceLine, ...(held && { held }), secretReachedModel, tokenReachedModel };
}
