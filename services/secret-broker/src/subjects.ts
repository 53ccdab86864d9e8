import { SUBJECTS } from '@agentgate/events';

/** Subject of the lease endpoint (`secrets.lease`). */
export const LEASE_SUBJECT: string = SUBJECTS.SECRETS_LEASE;
/** Subject of the masklist endpoint (`secrets.masklist`). */
export const MASKLIST_SUBJECT: string = SUBJECTS.SECRETS_MASKLIST;
export const SERVICE_NAME = 'secret-broker';
export const SERVICE_VERSION = '0.1.0';
