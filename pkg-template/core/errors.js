// Every failure surfaces as a WebembedError with a stable `code`, so apps can branch on it.

export class WebembedError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'WebembedError';
    this.code = code;
  }
}

/** Whether `error` ends a call because its AbortSignal fired (aborted, or AbortSignal.timeout's TimeoutError). */
export function isAbort(error) {
  return error?.name === 'AbortError' || error?.name === 'TimeoutError';
}

/** Turns whatever the engine or the platform threw into a WebembedError. */
export function asWebembedError(error, fallbackCode = 'E_INTERNAL') {
  if (error instanceof WebembedError) return error;
  if (error && typeof error === 'object' && typeof error.code === 'string' && error.code.startsWith('E_')) {
    return new WebembedError(error.code, error.message, { cause: error });
  }
  if (isAbort(error)) {
    const why = error.name === 'TimeoutError' ? 'its signal timed out' : 'its signal was aborted';
    return new WebembedError('E_ABORTED', `the call was aborted: ${why}`, { cause: error });
  }
  return new WebembedError(fallbackCode, String(error?.message ?? error), { cause: error });
}
