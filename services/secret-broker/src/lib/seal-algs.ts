/** Algorithms accepted for JWE secret files: a symmetric key (`dir`) or an EC/OKP key pair (ECDH-ES, with or without key wrap). */
export const SEAL_ALGS = ['dir', 'ECDH-ES', 'ECDH-ES+A256KW'] as const;
export const SEAL_ENC = 'A256GCM';
