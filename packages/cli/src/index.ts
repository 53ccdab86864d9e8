export { runCli } from './cli.js';
export { startGateway, resolveStartConfig, sampleConfigPath } from './commands/start.js';
export { CliError } from './errors.js';
export type { Component, Gateway } from './commands/start.js';
export type { Output, ExitCode } from './lib/output.js';
export type { CliErrorCode } from './errors.js';
