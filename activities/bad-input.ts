import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../common/failures.js';
import { MergeRefusedError } from './providers/github.js';
import { RepositoryNotAllowedError, RepositoryUnreachableError } from './repository.js';
import { ValuesKeyError } from './values-file.js';

/** A failure the request or the repository's content caused: retrying cannot help, so it is not retried. */
export function badInput(message: string, type: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type, nonRetryable: true });
}

/** The errors of the repository or the request, each with the failure type clients match on. */
const BAD_INPUT_ERRORS: readonly [new (...args: never[]) => Error, FailureType][] = [
  [ValuesKeyError, FailureType.ValuesKeyMissing],
  [RepositoryUnreachableError, FailureType.RepositoryUnreachable],
  [MergeRefusedError, FailureType.MergeRefused],
  [RepositoryNotAllowedError, FailureType.RepositoryNotAllowed],
];

/** Rethrows an error of the repository or the request as a non-retryable failure of its type; any other as it is. */
export function rethrowAsBadInput(error: unknown): never {
  for (const [kind, type] of BAD_INPUT_ERRORS) {
    if (error instanceof kind) throw badInput(error.message, type);
  }
  throw error;
}
