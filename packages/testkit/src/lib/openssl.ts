/**
 * The `openssl req` arguments of a fresh self-signed test CA (or a
 * self-signed server certificate): a P-256 key without a passphrase, valid two
 * days. The caller runs `openssl` with them (its own way of reporting
 * failures) and may append extensions.
 */
export function selfSignedCertArgs(subject: string, keyOut: string, certOut: string): string[] {
  return ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', subject, '-keyout', keyOut, '-out', certOut];
}
