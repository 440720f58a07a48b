import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import azureFunctions, { type InvocationContext, type LogLevel } from '@azure/functions';

type ContextInit = NonNullable<ConstructorParameters<typeof azureFunctions.InvocationContext>[0]>;

/** Runs function invocations with the Functions host's context and log lines. */
export interface Invoker {
  /**
   * One invocation between "Executing" and "Executed" log lines; a failure is logged, then rethrown
   * so that the caller answers it as the host would (a 500, a retried message).
   */
  run<T>(
    functionName: string,
    reason: string,
    call: (context: InvocationContext) => T | Promise<T>,
    contextInit?: Partial<ContextInit>,
  ): Promise<T>;
  /** A host log line (not a function's). */
  log(message: string): void;
}

export function formatLogArgs(args: readonly unknown[]): string {
  return args
    .map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 5, breakLength: Infinity })))
    .join(' ');
}

export function createInvoker(write: (line: string) => void): Invoker {
  const log = (message: string) => write(`[${new Date().toISOString()}] ${message}`);
  const contextFor = (functionName: string, invocationId: string, init: Partial<ContextInit>) =>
    new azureFunctions.InvocationContext({
      invocationId,
      functionName,
      logHandler: (level: LogLevel, ...args: unknown[]) =>
        log(`[${functionName}] ${level}: ${formatLogArgs(args)}`),
      ...init,
    });

  return {
    log,
    async run(functionName, reason, call, contextInit = {}) {
      const id = randomUUID();
      const started = Date.now();
      const executed = (outcome: string) =>
        `Executed 'Functions.${functionName}' (${outcome}, Id=${id}, Duration=${Date.now() - started}ms)`;
      log(`Executing 'Functions.${functionName}' (Reason='${reason}', Id=${id})`);
      try {
        const result = await call(contextFor(functionName, id, contextInit));
        log(executed('Succeeded'));
        return result;
      } catch (error) {
        log(`${executed('Failed')} ${formatLogArgs([error])}`);
        throw error;
      }
    },
  };
}
