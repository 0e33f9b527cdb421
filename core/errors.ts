/**
 * Typed errors with a stable `code`. Every message says what happened and what to do next.
 * Edges (CLI, bot) print `message` on one line and never a stack trace for a QuijoteError.
 */
export type ErrorCode =
  | 'MODEL_NOT_FOUND'
  | 'MODEL_CORRUPT'
  | 'MODEL_UNSUPPORTED'
  | 'CHECKPOINT_UNSAFE'
  | 'DOWNLOAD_FAILED'
  | 'OFFLINE'
  | 'TEXT_NOT_FOUND'
  | 'TEXT_MARKERS'
  | 'BAD_LINES'
  | 'BAD_ARGUMENT'
  | 'BAD_CONFIG'
  | 'BACKEND_UNAVAILABLE'
  | 'OUT_OF_MEMORY'
  | 'GPU_ERROR'
  | 'COMPUTE_CRASHED'
  | 'CANCELLED'
  | 'NOT_TRAINED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BUSY'
  | 'INTERNAL'
  | 'PROMPT_TOO_LONG'
  | 'NO_SPACE';

export class QuijoteError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(options?.hint ? `${message} ${options.hint}` : message, options?.cause ? { cause: options.cause } : undefined);
    this.name = 'QuijoteError';
    this.code = code;
    this.hint = options?.hint;
  }
}

export function isQuijoteError(e: unknown, code?: ErrorCode): e is QuijoteError {
  return e instanceof QuijoteError && (code === undefined || e.code === code);
}
