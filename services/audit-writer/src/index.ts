export { startAuditWriter, WRITER_DURABLE } from './writer.js';
export { AuditWriterError } from './errors.js';
export { verifyTrail, formatVerifyReport } from './verify.js';
export { loadCheckpointSigner, publicKeyPath, readPublicKey, verifyCheckpoint } from './checkpoint.js';
export { createSink } from './sinks/create-sink.js';
export { LocalSink, readLocalTrail, readLocalCheckpoints } from './sinks/local.js';
export { SearchSink } from './sinks/search-sink.js';
export { searchTrail } from './trail.js';
export { applySetup, setupDocuments } from './lib/setup.js';
export { dailyIndex, checkpointIndex, indexPattern } from './lib/index-names.js';
export { CHAIN_BUCKET } from './lib/chain-state.js';

export type { AuditWriter, AuditWriterConfig, AuditWriterOptions, WriterStats } from './writer.js';
export type { AuditWriterErrorCode } from './errors.js';
export type { CheckpointSource, ProblemKind, VerifyOptions, VerifyProblem, VerifyReport } from './verify.js';
export type { CheckpointClaims, CheckpointSigner } from './checkpoint.js';
export { matchesTrailQuery, trailSearchQuery } from './sinks/types.js';
export type { Sink, SinkDoc, StoredCheckpoint, TrailQuery, WriteOutcome } from './sinks/types.js';
export type { LifecycleStatus } from './lib/setup.js';
