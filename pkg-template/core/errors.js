// Every failure surfaces as a WebembedError with a stable `code`, so apps can branch on it.

export class WebembedError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'WebembedError';
    this.code = code;
  }
}

/** Turns whatever the engine or the platform threw into a WebembedError. */
export function asWebembedError(error, fallbackCode = 'E_INTERNAL') {
  if (error instanceof WebembedError) return error;
  if (error && typeof error === 'object' && typeof error.code === 'string' && error.code.startsWith('E_')) {
    return new WebembedError(error.code, error.message, { cause: error });
  }
  if (error?.name === 'AbortError') {
    return new WebembedError('E_ABORTED', 'the load was aborted', { cause: error });
  }
  return new WebembedError(fallbackCode, String(error?.message ?? error), { cause: error });
}
