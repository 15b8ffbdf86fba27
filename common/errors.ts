/** Exit code 2 territory: the request itself is wrong, and nothing was changed. */
export class BadInputError extends Error {
  override readonly name = 'BadInputError';
}

/** The promotion could not be found or reached. */
export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** What an unknown promotion id gets told: where to find the right one. */
export function unknownId(id: string, kind = ''): string {
  return `no ${kind}promotion with id ${id}: \`promote list\` shows recent ones (\`promote list --app APP\` filters)`;
}
