import { log } from '@temporalio/activity';

/**
 * A server without visibility (Temporal's time-skipping test server) cannot list workflows: there is
 * then nobody to discover, rather than an error to retry forever.
 */
export async function* withoutVisibilityTolerated<T>(items: AsyncIterable<T>): AsyncIterable<T> {
  try {
    yield* items;
  } catch (error) {
    const code =
      (error as { code?: number; cause?: { code?: number } }).code ??
      (error as { cause?: { code?: number } }).cause?.code;
    if (code === GRPC_UNIMPLEMENTED || /UNIMPLEMENTED|not implemented/i.test(String(error))) {
      log.warn('visibility is not available on this server; a lost lock cannot be rebuilt from its holders');
      return;
    }
    throw error;
  }
}

const GRPC_UNIMPLEMENTED = 12;
