import { SUBJECTS } from '@agentgate/events';

/** Subject of the lease endpoint (`secrets.lease`). */
export const LEASE_SUBJECT: string = SUBJECTS.SECRETS_LEASE;
/**
 * Subject of the masklist endpoint. Not in @agentgate/events' SUBJECTS yet
 * (owned by another area); defined here next to the lease subject.
 */
export const MASKLIST_SUBJECT = 'secrets.masklist';
export const SERVICE_NAME = 'secret-broker';
export const SERVICE_VERSION = '0.1.0';
