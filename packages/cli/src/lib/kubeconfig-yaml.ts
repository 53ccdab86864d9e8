/**
 * The one kubeconfig writer of the CLI: `agentgate kubeconfig` (one
 * connection, a static token or the `kubeconfig token` plugin) and
 * `agentgate ci env` (one context per kubernetes connection, the `ci token`
 * plugin that refreshes the CI token) both render through it, so the two
 * cannot drift apart.
 */

/** One cluster/user/context triple, all named `agentgate-<connection>`. */
export interface KubeContext {
  /** The connection name (a slug). */
  readonly connection: string;
  /** `<gateway>/<connection>`: the gateway serves the Kubernetes API under the connection's path. */
  readonly server: string;
  readonly namespace?: string | undefined;
  /** PEM file kubectl trusts for the gateway (otherwise the system roots, or SSL_CERT_FILE). */
  readonly certificateAuthority?: string | undefined;
}

/** How kubectl authenticates to the gateway: an exec credential plugin (preferred) or a token written into the file. */
export type KubeUser =
  | { readonly exec: { readonly command: string; readonly args: readonly string[]; readonly installHint?: string } }
  | { readonly token: string };

/** A YAML scalar: JSON strings are valid YAML and need no further escaping. */
const q = (s: string): string => JSON.stringify(s);

function userLines(user: KubeUser): string[] {
  if ('token' in user) return [`    token: ${q(user.token)}`];
  const { command, args, installHint } = user.exec;
  return [
    '    exec:',
    '      apiVersion: client.authentication.k8s.io/v1',
    `      command: ${q(command)}`,
    `      args: [${args.map(q).join(', ')}]`,
    '      interactiveMode: Never',
    '      provideClusterInfo: false',
    ...(installHint ? [`      installHint: ${q(installHint)}`] : []),
  ];
}

/**
 * A kubeconfig with one context per entry (the first is current), every
 * user authenticating the same way. Throws on an empty list: a kubeconfig
 * without a context would make kubectl fall back to another cluster.
 */
export function renderKubeconfig(contexts: readonly KubeContext[], user: KubeUser): string {
  const first = contexts[0];
  if (!first) throw new TypeError('renderKubeconfig: at least one context is required');
  const name = (c: KubeContext): string => q(`agentgate-${c.connection}`);
  const lines = ['apiVersion: v1', 'kind: Config', 'clusters:'];
  for (const c of contexts) {
    lines.push(`- name: ${name(c)}`, '  cluster:', `    server: ${q(c.server)}`);
    if (c.certificateAuthority) lines.push(`    certificate-authority: ${q(c.certificateAuthority)}`);
  }
  lines.push('users:');
  for (const c of contexts) lines.push(`- name: ${name(c)}`, '  user:', ...userLines(user));
  lines.push('contexts:');
  for (const c of contexts) {
    lines.push(`- name: ${name(c)}`, '  context:', `    cluster: ${name(c)}`, `    user: ${name(c)}`);
    if (c.namespace) lines.push(`    namespace: ${q(c.namespace)}`);
  }
  lines.push(`current-context: ${name(first)}`);
  return `${lines.join('\n')}\n`;
}
