// Kubernetes `Status` objects and ApiError, the one error class of the REST layer. Every failure a
// client can see leaves the API server as a Status with Kubernetes' reason and message wording, since
// kubectl and client-node print (and branch on) exactly those fields.

export type StatusReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'Expired'
  | 'Gone'
  | 'RequestEntityTooLarge'
  | 'TooManyRequests'
  | 'UnsupportedMediaType'
  | 'NotAcceptable'
  | 'Timeout'
  | 'ServiceUnavailable'
  | 'InternalError';

export interface StatusCause {
  readonly reason: string;
  readonly message: string;
  readonly field: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
}

export interface Status {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Success' | 'Failure';
  readonly message?: string;
  readonly reason?: StatusReason;
  readonly details?: StatusDetails;
  readonly code: number;
}

/** A failed API request. `code` is the stable reason string; `httpStatus` the HTTP code. */
export class ApiError extends Error {
  readonly code: StatusReason;
  readonly httpStatus: number;
  readonly details: StatusDetails | undefined;
  /** 429/5xx and conflicts may be retried by the client. */
  readonly retryable: boolean;
  constructor(httpStatus: number, code: StatusReason, message: string, details?: StatusDetails) {
    super(message);
    this.name = 'ApiError';
    this.httpStatus = httpStatus;
    this.code = code;
    this.details = details;
    this.retryable = httpStatus === 429 || httpStatus === 409 || httpStatus >= 500;
  }

  toStatus(): Status {
    const status: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.code,
      code: this.httpStatus,
      ...(this.details === undefined ? {} : { details: this.details }),
    };
    return status;
  }
}

/** What a resource is called in messages: `pods`, `deployments.apps`. */
export interface QualifiedResource {
  readonly resource: string;
  readonly group: string;
}

function qualified(what: QualifiedResource): string {
  return what.group === '' ? what.resource : `${what.resource}.${what.group}`;
}

function groupDetails(what: QualifiedResource, name: string): StatusDetails {
  return { name, group: what.group, kind: what.resource };
}

export function successStatus(details?: StatusDetails): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200, ...(details === undefined ? {} : { details }) };
}

export const errors = {
  notFound(what: QualifiedResource, name: string): ApiError {
    return new ApiError(404, 'NotFound', `${qualified(what)} "${name}" not found`, groupDetails(what, name));
  },
  alreadyExists(what: QualifiedResource, name: string): ApiError {
    return new ApiError(409, 'AlreadyExists', `${qualified(what)} "${name}" already exists`, groupDetails(what, name));
  },
  conflict(what: QualifiedResource, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): ApiError {
    return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(what)} "${name}": ${why}`, groupDetails(what, name));
  },
  /** 422: `Pod "web" is invalid: spec.containers[0].image: Required value` (`Deployment.apps "d" …` for groups). */
  invalid(kind: string, group: string, name: string, causes: readonly StatusCause[]): ApiError {
    const parts = causes.map((cause) => (cause.field === '' ? cause.message : `${cause.field}: ${cause.message}`));
    const list = parts.length === 1 ? (parts[0] ?? '') : `[${parts.join(', ')}]`;
    const qualifiedKind = group === '' ? kind : `${kind}.${group}`;
    return new ApiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${list}`, { name, group, kind, causes });
  },
  badRequest(message: string): ApiError {
    return new ApiError(400, 'BadRequest', message);
  },
  unauthorized(message = 'Unauthorized'): ApiError {
    return new ApiError(401, 'Unauthorized', message);
  },
  forbidden(message: string, details?: StatusDetails): ApiError {
    return new ApiError(403, 'Forbidden', message, details);
  },
  methodNotAllowed(message = 'the server does not allow this method on the requested resource'): ApiError {
    return new ApiError(405, 'MethodNotAllowed', message);
  },
  /** 410 for a watch or list from a compacted revision. */
  expired(message: string): ApiError {
    return new ApiError(410, 'Expired', message);
  },
  tooLarge(message = 'Request entity too large'): ApiError {
    return new ApiError(413, 'RequestEntityTooLarge', message);
  },
  tooManyRequests(message = 'Too many requests, please try again later.'): ApiError {
    return new ApiError(429, 'TooManyRequests', message, { retryAfterSeconds: 1 });
  },
  unsupportedMediaType(contentType: string): ApiError {
    return new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got ${JSON.stringify(contentType)})`);
  },
  notAcceptable(accept: string): ApiError {
    return new ApiError(406, 'NotAcceptable', `only the following media types are accepted: application/json, application/yaml (got ${JSON.stringify(accept)})`);
  },
  timeout(message: string): ApiError {
    return new ApiError(504, 'Timeout', message);
  },
  internal(message: string): ApiError {
    return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
  },
};

/** Field-error helpers with Kubernetes' cause reasons and messages (field.ErrorType). */
export const causes = {
  required(field: string, detail = ''): StatusCause {
    return { reason: 'FieldValueRequired', message: detail === '' ? 'Required value' : `Required value: ${detail}`, field };
  },
  invalid(field: string, value: unknown, detail: string): StatusCause {
    return { reason: 'FieldValueInvalid', message: `Invalid value: ${formatValue(value)}: ${detail}`, field };
  },
  notSupported(field: string, value: unknown, supported: readonly string[]): StatusCause {
    return {
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${formatValue(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
      field,
    };
  },
  duplicate(field: string, value: unknown): StatusCause {
    return { reason: 'FieldValueDuplicate', message: `Duplicate value: ${formatValue(value)}`, field };
  },
  forbidden(field: string, detail: string): StatusCause {
    return { reason: 'FieldValueForbidden', message: `Forbidden: ${detail}`, field };
  },
  tooLong(field: string, maxBytes: number): StatusCause {
    return { reason: 'FieldValueTooLong', message: `Too long: must have at most ${maxBytes} bytes`, field };
  },
  typeInvalid(field: string, value: unknown, detail: string): StatusCause {
    return { reason: 'FieldValueTypeInvalid', message: `Invalid value: ${formatValue(value)}: ${detail}`, field };
  },
};

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  return '"object"';
}
