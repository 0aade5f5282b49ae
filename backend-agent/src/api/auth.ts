/**
 * Bearer-token check. The presented token and the configured one are hashed
 * to equal-length SHA-256 digests and compared with timingSafeEqual, so the
 * comparison time reveals neither the token nor its length.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export type TokenCheck = (authorizationHeader: string | undefined) => boolean;

export function bearerTokenCheck(token: string): TokenCheck {
  const expected = digest(token);
  return (header) => {
    const presented = header === undefined ? undefined : BEARER.exec(header)?.[1];
    // Hash something even when no token was presented, to keep timing uniform.
    return timingSafeEqual(digest(presented ?? ''), expected) && presented !== undefined;
  };
}
