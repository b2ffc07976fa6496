import type { Context, MiddlewareOptions } from '@microsoft/microsoft-graph-client';

/**
 * What belongs to one call rather than to the customer's cached Graph client: the action run's
 * abort signal and its timeout. Passed with each request as a Graph client middleware option, so
 * one client per customer serves every run.
 */
export class RunOptions implements MiddlewareOptions {
  constructor(readonly timeoutMs: number, readonly signal?: AbortSignal) {}
}

export function runOptionsOf(context: Context): RunOptions | undefined {
  return context.middlewareControl?.getMiddlewareOptions(RunOptions) as RunOptions | undefined;
}
