// The error a component's API call rejects with: the HTTP status and the Kubernetes Status it carried,
// with helpers for the cases controllers branch on (not found, conflict, already exists, gone).

export class ApiClientError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly body: unknown;

  constructor(status: number, body: unknown) {
    const record = typeof body === 'object' && body !== null ? (body as { readonly [field: string]: unknown }) : {};
    const reason = typeof record['reason'] === 'string' ? record['reason'] : `HTTP ${status}`;
    const message = typeof record['message'] === 'string' ? record['message'] : reason;
    super(`${status} ${reason}: ${message}`);
    this.name = 'ApiClientError';
    this.status = status;
    this.reason = reason;
    this.body = body;
  }
}

export const isNotFound = (error: unknown): boolean => error instanceof ApiClientError && error.status === 404;
export const isConflict = (error: unknown): boolean => error instanceof ApiClientError && error.status === 409 && error.reason === 'Conflict';
export const isAlreadyExists = (error: unknown): boolean => error instanceof ApiClientError && error.status === 409 && error.reason === 'AlreadyExists';
/** 410 Gone: the resourceVersion asked for is compacted; relist. */
export const isGone = (error: unknown): boolean => error instanceof ApiClientError && error.status === 410;
