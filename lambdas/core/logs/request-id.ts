/** The field a console line names its request with (see "Required Format for Console Logs"). */
export const REQUEST_ID_FIELD = 'kinto_request_id';

/**
 * Request ids as gateways issue them: UUIDs locally, API Gateway ids (base64-like) on AWS.
 * Anything else (empty, huge, `#`, spaces, API Gateway's `-` for a missing value) cannot be a
 * request and is not used as a key.
 */
const REQUEST_ID = /^(?=[^]*[A-Za-z0-9])[A-Za-z0-9._:=+/-]{1,128}$/;

export const isRequestId = (value: unknown): value is string => typeof value === 'string' && REQUEST_ID.test(value);
