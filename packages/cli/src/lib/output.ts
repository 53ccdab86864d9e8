/** Where commands write: injectable so tests capture every byte. */
export interface Output {
  out(line: string): void;
  err(line: string): void;
}

export const stdio: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** A command's result: the process exit code. */
export type ExitCode = number;
