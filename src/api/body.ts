/**
 * The request body, read once within a size limit (issue #6, the `status` hot path).
 *
 * Served by @hono/node-server, a POST body that is not multipart is read straight from the
 * Node request stream: building the web `Request` that `c.req.text()` and hono's `bodyLimit`
 * go through (ReadableStream, AbortSignal, undici Request) cost about 0.2 ms of CPU per
 * request in `npm run bench`, three times a whole bare Hono route. Anywhere else (multipart
 * bodies, `app.request()` in tests, other methods) it is hono's `bodyLimit` and `c.req.text()`,
 * as before. Either way: a body over the limit (by `content-length`, or counted while
 * reading) throws `tooLarge()`; the text is decoded as UTF-8 like `Request.text()`.
 */
import { IncomingMessage } from "node:http";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { badRequest } from "../orders/errors.js";
import { requestHeader } from "./request-headers.js";

/** Context variable holding the text read on the fast path (a per-request WeakMap entry costs GC work). */
const BODY_TEXT = "smmBodyText";

type TextVars = { get(key: string): unknown; set(key: string, value: unknown): void };

/** The Node request of a context served by @hono/node-server, while its body is still unread. */
function unreadIncoming(c: Context): IncomingMessage | undefined {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  if (!(incoming instanceof IncomingMessage) || incoming.readableDidRead) return undefined;
  return incoming;
}

/**
 * One body being read: its listeners are bound methods, not closures made per request (under
 * tsx every named closure costs a `defineProperty` for its name, ~3 % of a `status` request).
 */
class BodyReader {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private readonly onData = this.data.bind(this);
  private readonly onEnd = this.end.bind(this);
  private readonly onAbort = this.abort.bind(this);

  constructor(
    private readonly incoming: IncomingMessage,
    private readonly maxBytes: number,
    private readonly resolve: (body: Buffer | undefined) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    incoming.on("data", this.onData);
    incoming.on("end", this.onEnd);
    incoming.on("error", this.onAbort);
    incoming.on("close", this.onAbort);
  }

  private done(): void {
    this.incoming.off("data", this.onData);
    this.incoming.off("end", this.onEnd);
    this.incoming.off("error", this.onAbort);
    this.incoming.off("close", this.onAbort);
  }

  private data(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      this.done();
      this.resolve(undefined);
      return;
    }
    this.chunks.push(chunk);
  }

  private end(): void {
    this.done();
    const [only] = this.chunks;
    this.resolve(this.chunks.length === 1 && only !== undefined ? only : Buffer.concat(this.chunks, this.size));
  }

  private abort(): void {
    this.done();
    this.reject(badRequest("Incorrect request: the body was not received completely"));
  }
}

/**
 * Reads the whole stream; undefined (and the rest left to the server to drain) past `maxBytes`.
 * @throws DomainError bad_request when the client goes away before the body ends (aborted
 *   upload): a client error, never logged as an unexpected one.
 */
function readWithin(incoming: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => new BodyReader(incoming, maxBytes, resolve, reject));
}

/**
 * The whole body if it is already in the stream's buffer (a small body sent in one piece, the
 * usual API request): taken synchronously, with no listeners and no promise (issue #14). Else
 * undefined, and the stream is left untouched.
 */
function takeComplete(incoming: IncomingMessage): Buffer | undefined {
  if (!incoming.complete || incoming.readableFlowing || incoming.readableDidRead) return undefined;
  return (incoming.read() as Buffer | null) ?? EMPTY;
}

const EMPTY = Buffer.alloc(0);

const utf8 = new TextDecoder();

const noop = async () => {};

/**
 * A body reader for the API handler: enforces `maxBytes` on the body and, on the fast path
 * (a POST from @hono/node-server whose stream nobody read yet), reads it for
 * {@link requestBodyText}; otherwise (tests' `app.request`, multipart) hono's `bodyLimit`
 * checks the size and the body stays in the request. `tooLarge` is thrown for an oversized
 * body (the app's `payload_too_large` domain error, answered 413 by the error table).
 * Rejects with a 400 domain error when the client goes away mid-body.
 */
export function bodyReader(maxBytes: number, tooLarge: () => Error): (c: Context) => Promise<void> {
  const fallback = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  return async (c) => {
    const incoming = c.req.method === "POST" ? unreadIncoming(c) : undefined;
    const type = (requestHeader(c, "content-type") ?? "").toLowerCase();
    if (incoming === undefined || type.startsWith("multipart/form-data")) {
      await fallback(c, noop);
      return;
    }
    const length = requestHeader(c, "content-length");
    if (
      length !== undefined &&
      requestHeader(c, "transfer-encoding") === undefined &&
      Number.parseInt(length, 10) > maxBytes
    ) {
      throw tooLarge();
    }
    // The 'request' event fires while Node's parser is still inside the packet that carried the
    // headers; one microtask later it has parsed the rest of that packet.
    await undefined;
    const body = takeComplete(incoming) ?? (await readWithin(incoming, maxBytes));
    if (body === undefined || body.length > maxBytes) throw tooLarge();
    (c as unknown as TextVars).set(BODY_TEXT, utf8.decode(body));
  };
}

/** The body as text if {@link bodyReader} read it (the fast path), else undefined. */
export function bodyTextRead(c: Context): string | undefined {
  const text = (c as unknown as TextVars).get(BODY_TEXT);
  return typeof text === "string" ? text : undefined;
}

/** The body as text: what {@link bodyReader} read, else `c.req.text()`. */
export function requestBodyText(c: Context): Promise<string> {
  const text = (c as unknown as TextVars).get(BODY_TEXT);
  return typeof text === "string" ? Promise.resolve(text) : c.req.text();
}
