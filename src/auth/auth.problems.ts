/** 401, 403 and 503 answers of the auth layer, with RFC 6750 WWW-Authenticate challenges. */
import { AppError } from '../common/app-error';

const REALM = 'realm="captioner"';

export type UnauthorizedReason = 'missing' | 'expired' | 'invalid';

const DETAILS: Record<UnauthorizedReason, string> = {
  missing: 'A Bearer access token is required in the Authorization header.',
  expired: 'The access token has expired.',
  invalid: 'The access token is not valid for this API.',
};

export const AuthProblems = {
  unauthorized: (reason: UnauthorizedReason): AppError =>
    new AppError({
      code: 'auth.unauthorized',
      status: 401,
      title: 'Unauthorized',
      detail: DETAILS[reason],
      headers: {
        'WWW-Authenticate':
          reason === 'missing'
            ? `Bearer ${REALM}`
            : `Bearer ${REALM}, error="invalid_token", error_description="${DETAILS[reason]}"`,
      },
    }),
  forbidden: (missing: string[]): AppError =>
    new AppError({
      code: 'auth.insufficient_scope',
      status: 403,
      title: 'Forbidden',
      detail: `The access token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(' ')}.`,
      extra: { required_scopes: missing },
      headers: {
        'WWW-Authenticate': `Bearer ${REALM}, error="insufficient_scope", scope="${missing.join(' ')}"`,
      },
    }),
  keysUnavailable: (): AppError =>
    new AppError({
      code: 'auth.keys_unavailable',
      status: 503,
      title: 'Service unavailable',
      detail: 'The token signing keys could not be fetched; retry shortly.',
      headers: { 'Retry-After': '5' },
    }),
};
