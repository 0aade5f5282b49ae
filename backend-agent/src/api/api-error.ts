/**
 * The one error type handlers throw. The server renders it in the error shape
 * of the route's API family (Jaeger's or the native one), so handlers never
 * build error bodies themselves.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly messages: readonly string[];

  constructor(
    readonly status: number,
    messages: string | readonly string[],
    /** Extra response headers, e.g. WWW-Authenticate on 401, Allow on 405. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    const list = typeof messages === 'string' ? [messages] : messages;
    super(list.join('; '));
    this.messages = list;
  }
}

export const badRequest = (messages: string | readonly string[]) => new ApiError(400, messages);
export const notFound = (message: string) => new ApiError(404, message);
