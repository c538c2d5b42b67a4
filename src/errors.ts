/**
 * One error class for everything the user should read. The CLI prints
 * `error: <message>` and maps the code to an exit status.
 */
export type ErrorCode =
  | 'manifest' // the manifest is malformed or refers to unknown things
  | 'usage' // bad flags or URL
  | 'connection' // cannot reach or open the database
  | 'catalog' // the database does not match what the manifest assumes (unknown table/column)
  | 'refused' // apply refused: violations, stale plan, no confirmation, concurrent apply
  | 'lock' // lock budget spent
  | 'execution'; // a statement failed

export class SchemaDiffError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly string[];
  constructor(code: ErrorCode, message: string, details: readonly string[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SchemaDiffError';
    this.code = code;
    this.details = details;
  }
}

export function isSchemaDiffError(e: unknown): e is SchemaDiffError {
  return e instanceof SchemaDiffError;
}

/** The message of anything thrown, without a stack. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
