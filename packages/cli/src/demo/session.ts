import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from '@agentgate/testkit';
import OpenAI from 'openai';
import type { DoubleReply, DoubleRequest } from './model-double.js';
import { DEMO_GIT_USER, type DemoWorld } from './world.js';

/** What the scripted session saw, for the demo's summary and for tests. */
export interface DemoSessionResult {
  token: string;
  pushExit: number;
  forcePushExit: number;
  /** The refusal git printed for the force-push. */
  forcePushError: string;
  /** Whether the pasted secret reached the model double (it must not). */
  secretReachedModel: boolean;
  /** Whether any request reaching the model carried the CI token (it must not). */
  tokenReachedModel: boolean;
}

const PUSH = "git add CHANGELOG.md && git commit -m 'docs: changelog for 1.2' && git push origin main";
const FORCE = "git commit --amend -m 'docs: changelog for release 1.2' && git push --force origin main";

/** The model double's script: what a coding model would propose at each turn. */
function script(req: DoubleRequest): DoubleReply {
  const text = JSON.stringify(req.body.messages ?? req.body.input ?? '');
  if (text.includes('CHANGELOG')) return { text: 'I will add the entry and push it.', toolCalls: [{ id: 'call_push', name: 'bash', arguments: { command: PUSH } }] };
  if (text.includes('typo')) return { text: 'Amending the commit and updating main.', toolCalls: [{ id: 'call_force', name: 'bash', arguments: { command: FORCE } }], delayMs: 5 };
  return { text: 'Never paste credentials into a prompt; rotate that password and read it from the secret store instead.', delayMs: 5 };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env, timeout: 120_000 }, (err, _stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stderr: String(stderr) });
    });
  });
}

/**
 * Plays a scripted agent session through the gateway at `gatewayUrl`: the
 * agent asks the model (official `openai` client) what to do and runs what
 * it proposes with the real git CLI: a push to main (allowed), a force-push
 * rewriting main (denied), then pastes a database password into a prompt
 * (masked before it reaches the model). The agent holds only its CI token.
 */
export async function playDemoSession(w: DemoWorld, gatewayUrl: string, say: (line: string) => void): Promise<DemoSessionResult> {
  const git = requireBinary('git', 'apt-get install -y git');
  const token = await w.token();
  w.double.script(script);
  const first = w.double.requests.length;
  const model = new OpenAI({ apiKey: token, baseURL: `${gatewayUrl}/model`, maxRetries: 0 });
  const home = join(w.dir.path, `agent-home-${Date.now()}`);
  mkdirSync(home, { recursive: true });
  writeFileSync(
    join(home, '.gitconfig'),
    ['[user]', '\tname = agent', '\temail = agent@acme.invalid', '[credential]', `\thelper = "!f() { echo username=${DEMO_GIT_USER}; echo password=$AGENTGATE_CI_TOKEN; }; f"`, ''].join('\n'),
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
  const cloned = await run(git, ['clone', '-q', `${gatewayUrl}/git/app.git`, work], home, env);
  if (cloned.code !== 0) throw new Error(`git clone through the gateway failed: ${cloned.stderr.slice(-500)}`);
  writeFileSync(join(work, 'CHANGELOG.md'), '# Changelog\n\n## 1.2\n- changelog entry\n');
  const push = await sh(cmd1);
  say(`agent runs it: git push origin main → ${push.code === 0 ? 'pushed' : `failed (${push.stderr.trim().split('\n').pop()})`}`);

  say('agent → model (streaming): "The commit message has a typo. Fix it on main."');
  const s2 = await model.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'The commit message has a typo. Fix it on main.' }] });
  let args2 = '';
  for await (const chunk of s2) for (const tc of chunk.choices[0]?.delta.tool_calls ?? []) args2 += tc.function?.arguments ?? '';
  const cmd2 = args2 ? (JSON.parse(args2) as { command: string }).command : FORCE;
  say(`model → agent: tool call bash: ${cmd2}`);
  const force = await sh(cmd2);
  const forceLine = force.stderr.split('\n').find((l) => /rejected|denied|error/i.test(l))?.trim() ?? force.stderr.trim().split('\n').pop() ?? '';
  say(`agent runs it: git push --force origin main → ${force.code === 0 ? 'pushed (!)' : `refused: ${forceLine}`}`);

  const leaky = `The deploy failed: FATAL password authentication failed for user app (DB_PASSWORD=${w.dbPassword}). What should I do?`;
  say('agent → model (streaming): "The deploy failed: FATAL password authentication failed (DB_PASSWORD=<the real password>)…"');
  const s3 = await model.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: leaky }] });
  let answer = '';
  for await (const chunk of s3) answer += chunk.choices[0]?.delta.content ?? '';
  say(`model → agent: "${answer}"`);

  const seen = w.double.requests.slice(first);
  const secretReachedModel = seen.some((r) => r.raw.includes(w.dbPassword));
  const tokenReachedModel = seen.some((r) => r.raw.includes(token) || JSON.stringify(r.headers).includes(token));
  say(`the model received the password: ${secretReachedModel ? 'YES (!)' : 'no, it was masked by the gateway'}`);
  return { token, pushExit: push.code, forcePushExit: force.code, forcePushError: forceLine, secretReachedModel, tokenReachedModel };
}
