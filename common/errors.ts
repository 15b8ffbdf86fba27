/** Exit code 2 territory: the request itself is wrong, and nothing was changed. */
export class BadInputError extends Error {
  override readonly name = 'BadInputError';
}

/** The promotion could not be found or reached. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}
