/**
 * What never reaches the logs: credentials (Authorization, cookies, tokens in a query string) and image
 * bytes (base64 fields, buffers). Request logging keeps an allowlist of headers; the redaction paths are
 * the second line of defence for anything else that gets logged.
 */
const SECRET_QUERY_PARAMS = [
  'token',
  'access_token',
  'id_token',
  'refresh_token',
  'jwt',
  'authorization',
  'auth',
  'bearer',
  'api_key',
  'apikey',
  'password',
  'secret',
];
/**
 * Candidates for a JWS/JWE in compact form: three to five base64url segments joined by dots, the first
 * at least 10 characters. A candidate is a token when its first segment decodes to a JSON object's
 * opening brace (a JOSE header), whatever the field, header or parameter carrying it.
 */
const JWT_CANDIDATE = /[A-Za-z0-9_-]{10,}(?:\.[A-Za-z0-9_-]*){2,4}/g;
/** The quick pre-check: a base64url segment of a JSON object starts with `e` then one of these. */
const JOSE_HEADER_START = /^e[w-z0-9_-]/;
const IMAGE_FIELDS = ['image_base64', 'imageBase64', 'image_bytes', 'imageBytes', 'rgb'];
const CREDENTIAL_FIELDS = ['authorization', 'cookie', 'token', 'access_token', 'password', 'secret'];

export const REDACTED = '[redacted]';

/** Fields whose values never reach a log line, at the top level or up to two levels deep. */
const SECRET_FIELDS = new Set([...IMAGE_FIELDS, ...CREDENTIAL_FIELDS]);

/**
 * pino `redact` paths: fixed paths only. The secret fields at any depth are redacted by
 * `redactLogObject`, in the walk it makes anyway: pino's wildcard paths (`*.f`, `*.*.f` for 11 fields)
 * cost 7% of the API's CPU on the cache-hit path, for objects this walk already visits.
 */
export const REDACT_PATHS: string[] = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'req.query.token',
  'req.query.access_token',
];

const LOGGED_HEADERS = [
  'user-agent',
  'content-type',
  'content-length',
  'accept',
  'x-forwarded-for',
  'prefer',
];

/**
 * The URL with the values of credential-like query parameters replaced, and anything shaped like a JWT
 * (in the path, or in a parameter of any name, e.g. `?authorization=Bearer%20eyJ...`) replaced too.
 */
export function sanitizeUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  const q = url.indexOf('?');
  const path = redactJwts(q < 0 ? url : url.slice(0, q));
  if (q < 0) return path;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = decodeURIComponentSafe(eq < 0 ? pair : pair.slice(0, eq)).toLowerCase();
      const value = eq < 0 ? '' : decodeURIComponentSafe(pair.slice(eq + 1));
      return SECRET_QUERY_PARAMS.includes(name) || redactJwts(value) !== value
        ? `${pair.slice(0, eq < 0 ? pair.length : eq)}=${REDACTED}`
        : redactJwts(pair);
    })
    .join('&');
  return `${path}?${query}`;
}

function isJoseHeader(segment: string): boolean {
  if (!JOSE_HEADER_START.test(segment)) return false;
  return Buffer.from(segment.slice(0, 8), 'base64url').toString('latin1').trimStart().startsWith('{');
}

/** `text` with every JWT-shaped value in it replaced by `[redacted]`. */
export function redactJwts(text: string): string {
  if (text.length < 14 || !text.includes('.')) return text;
  return text.replace(JWT_CANDIDATE, (candidate) => {
    const dot = candidate.indexOf('.');
    if (isJoseHeader(candidate.slice(0, dot))) return REDACTED;
    // Not a token from its first segment (a host name, say): one may start at the next one.
    return `${candidate.slice(0, dot + 1)}${redactJwts(candidate.slice(dot + 1))}`;
  });
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

interface SerializedRequest {
  id?: unknown;
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
  remoteAddress?: string;
}

function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactJwts(value);
  if (Array.isArray(value)) return value.map(redactValue);
  return value;
}

/**
 * The access log's `req`: method, sanitized URL, a few harmless headers (a JWT-shaped value in them
 * redacted: a client may put a token in any header), the client address.
 */
export function serializeRequest(req: SerializedRequest): Record<string, unknown> {
  const headers: Record<string, unknown> = {};
  for (const name of LOGGED_HEADERS) {
    if (req.headers?.[name] !== undefined) headers[name] = redactValue(req.headers[name]);
  }
  return { method: req.method, url: sanitizeUrl(req.url), headers, remoteAddress: req.remoteAddress };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * pino `formatters.log`, over the first four levels of plain objects and arrays (what this code logs):
 * the secret fields become `[redacted]`, byte arrays their length, JWT-shaped strings `[redacted]`.
 * Other objects (a raw request, an error) are left to their serializers (see redactSerialized).
 */
export function redactLogObject(object: Record<string, unknown>): Record<string, unknown> {
  const scrub = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return redactJwts(value);
    if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.byteLength} bytes]`;
    if (depth < 0) return value;
    if (Array.isArray(value)) return value.map((v) => scrub(v, depth - 1));
    if (!isPlainObject(value)) return value;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value)) out[k] = SECRET_FIELDS.has(k) ? REDACTED : scrub(value[k], depth - 1);
    return out;
  };
  return scrub(object, 4) as Record<string, unknown>;
}

/**
 * A serializer's output (pino's error serializer builds objects on its own prototype) with JWT-shaped
 * strings redacted in its own members and nested ones (message, stack, causes, aggregated errors).
 */
export function redactSerialized<T>(value: T, depth = 4): T {
  if (typeof value === 'string') return redactJwts(value) as T;
  if (depth < 0 || typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => redactSerialized(v, depth - 1)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactSerialized(v, depth - 1);
  return out as T;
}
