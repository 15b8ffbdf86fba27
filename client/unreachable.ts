// Apart from errors.ts, which loads the SDK client: the light path (light.ts) reports the same way.

/** The CLI fails fast: a person at a terminal (or a CI job) should learn within 2 s that nothing is listening. */
export const CLI_CONNECT_TIMEOUT_MS = 2_000;

/** Exit code 1 territory: nothing was asked of the server because there was none to ask. */
export class ServerUnreachableError extends Error {
  override readonly name = 'ServerUnreachableError';
  constructor(
    readonly address: string,
    cause: unknown,
  ) {
    super(
      [
        `cannot reach the Temporal server at ${address} (${reason(cause)}).`,
        '  Start one on this machine with `promote dev`, or point the CLI at yours with',
        '  TEMPORAL_ADDRESS=host:7233 (and TEMPORAL_NAMESPACE / TEMPORAL_API_KEY for Temporal Cloud).',
      ].join('\n'),
    );
  }
}

function reason(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  // The SDK's wording ("Failed to connect before the deadline") says nothing a person can act on.
  return /deadline/i.test(message) ? `no answer within ${CLI_CONNECT_TIMEOUT_MS / 1000}s` : message;
}
