// The client that `manage.py typescript_client` writes above the types of a document: one
// socket, requests correlated by request_id, plain and multiplexed.

/** Any JSON value: what a request_id may be. */
export type RequestId =
  | string
  | number
  | boolean
  | null
  | RequestId[]
  | { [key: string]: RequestId };

/** What the client needs of a WebSocket: the browser's, Node's (22 and later) or the `ws`
 * package's. Its handlers are the client's. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: never) => void) | null;
  onclose: ((event: never) => void) | null;
  onerror: ((event: never) => void) | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** An action's error envelope: its status (400, 401, 403, 404, 405, 429, 500, 503) and errors
 * (messages, or DRF's field errors). */
export class ApiError extends Error {
  readonly status: number;
  readonly errors: unknown[];
  readonly action: string | null;

  constructor(status: number, errors: unknown[], action: string | null) {
    super(`${action ?? "request"} failed with ${status}: ${JSON.stringify(errors)}`);
    this.name = "ApiError";
    this.status = status;
    this.errors = errors;
    this.action = action;
  }
}

/** The socket closed, or failed to open, before the reply arrived. */
export class ConnectionClosed extends Error {
  constructor(message = "The connection closed before the reply.") {
    super(message);
    this.name = "ConnectionClosed";
  }
}

export interface RequestOptions {
  /** The request_id to send (by default, the connection's next number). */
  requestId?: RequestId;
}

export interface SubscribeOptions<E> extends RequestOptions {
  /** Called with each event frame sent with this request_id, until
   * `connection.stopListening(requestId)`, an `onError` or the connection closes. */
  onEvent?: (event: E) => void;
  /** Called with an error envelope sent with this request_id after the reply (a subscription
   * the server ended, such as with a 500, or a 503 when its events may have been lost: subscribe
   * again); no more events follow. */
  onError?: (error: ApiError) => void;
}

/** The five keys of every reply and event. */
export interface Envelope {
  errors: unknown[];
  data: unknown;
  action: string | null;
  response_status: number;
  request_id: unknown;
}

interface Pending {
  action: string;
  onPage: ((data: unknown) => void) | undefined;
  listener: Listener | undefined;
  resolve: (data: unknown) => void;
  reject: (error: Error) => void;
}

interface Listener {
  onEvent: (event: Envelope) => void;
  onError: ((error: ApiError) => void) | undefined;
}

const OPEN = 1;

/** One websocket to a route: requests go out as frames and come back as promises. */
export class Connection {
  readonly socket: WebSocketLike;
  readonly opened: Promise<void>;
  #nextId = 1;
  #closed: Error | null = null;
  readonly #pending = new Map<string, Pending>();
  readonly #listeners = new Map<string, Listener>();

  constructor(socket: WebSocketLike) {
    this.socket = socket;
    let failed: (error: Error) => void = () => undefined;
    this.opened = new Promise<void>((resolve, reject) => {
      failed = reject;
      socket.onopen = () => resolve();
      if (socket.readyState === OPEN) resolve();
    });
    this.opened.catch(() => undefined); // a failed open is reported by each request too
    socket.onerror = () => failed(new ConnectionClosed("The connection failed."));
    socket.onmessage = (event: { data: unknown }) => this.#receive(event.data);
    const onClose = () => {
      failed(new ConnectionClosed()); // closed before it opened
      this.#close(new ConnectionClosed());
    };
    socket.onclose = onClose;
    if (socket.readyState > OPEN) onClose(); // closing or closed already
  }

  /** A connection to `url`, open. `WebSocketImpl`: the `ws` package's where there is no global
   * `WebSocket` (Node 20). */
  static async open(url: string, WebSocketImpl?: WebSocketConstructor): Promise<Connection> {
    const found = WebSocketImpl ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (found === undefined) {
      throw new Error("There is no global WebSocket here: pass one, such as the ws package's.");
    }
    const connection = new Connection(new found(url));
    await connection.opened;
    return connection;
  }

  /** Send `action` with `args` (on `stream`, for a multiplexed route); the reply's data, or an
   * `ApiError`. `onPage` receives the 206 pages that come before the reply. */
  request<D, E = never>(
    stream: string | null,
    action: string,
    args: object,
    options: SubscribeOptions<E> = {},
    onPage?: (data: unknown) => void,
  ): Promise<D> {
    const requestId = options.requestId === undefined ? this.#nextId++ : options.requestId;
    const key = correlation(stream, requestId);
    if (this.#pending.has(key)) {
      return Promise.reject(new Error(`request_id ${key} is waiting for its reply already.`));
    }
    const closed = this.#closed;
    if (closed !== null) return Promise.reject(closed);
    const payload = { ...args, action, request_id: requestId };
    let frame: string;
    try {
      frame = JSON.stringify(stream === null ? payload : { stream, payload });
    } catch (error) {
      return Promise.reject(error); // a BigInt or a cycle: not JSON
    }
    const { onEvent, onError } = options;
    let listener: Listener | undefined;
    if (onEvent !== undefined) {
      listener = { onEvent: (event) => onEvent(event as E), onError };
      this.#listeners.set(key, listener);
    }
    return new Promise<D>((resolve, reject) => {
      const settle = (data: unknown) => resolve(data as D);
      this.#pending.set(key, { action, onPage, listener, resolve: settle, reject });
      this.opened.then(() => this.socket.send(frame), reject);
    });
  }

  /** Stop calling the `onEvent` of `requestId` (on `stream`). */
  stopListening(requestId: RequestId, stream: string | null = null): void {
    this.#listeners.delete(correlation(stream, requestId));
  }

  close(): void {
    this.socket.close(1000);
    this.#close(new ConnectionClosed());
  }

  #receive(text: unknown): void {
    const [stream, envelope] = unwrap(typeof text === "string" ? parse(text) : undefined);
    if (envelope === undefined) return;
    const key = correlation(stream, envelope.request_id);
    const pending = this.#pending.get(key);
    const error = envelope.errors.length > 0 ? apiError(envelope) : null;
    if (pending !== undefined && (error !== null || envelope.action === pending.action)) {
      if (error === null && envelope.response_status === 206) {
        pending.onPage?.(envelope.data); // a page: the reply comes after it
        return;
      }
      this.#pending.delete(key);
      if (error === null) {
        pending.resolve(envelope.data);
        return;
      }
      if (this.#listeners.get(key) === pending.listener) this.#listeners.delete(key);
      pending.reject(error);
      return;
    }
    const listener = this.#listeners.get(key);
    if (listener === undefined) return;
    if (error === null) {
      listener.onEvent(envelope);
      return;
    }
    this.#listeners.delete(key); // the server ended the subscription
    listener.onError?.(error);
  }

  #close(error: Error): void {
    if (this.#closed !== null) return;
    this.#closed = error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    this.#listeners.clear();
  }
}

/** The pages an action sends before its reply, as they arrive (to one reader: a second
 * `for await` throws), and the reply's data. */
export class Stream<P, D> implements AsyncIterable<P> {
  /** The reply's data, once the last page has arrived. */
  readonly result: Promise<D>;
  readonly #pages: P[] = [];
  #wake: (() => void) | null = null;
  #ended = false;
  #read = false;
  #failure: { error: unknown } | null = null;

  constructor(start: (onPage: (data: unknown) => void) => Promise<D>) {
    this.result = start((data) => {
      this.#pages.push(data as P);
      this.#notify();
    });
    this.result.then(
      () => {
        this.#ended = true;
        this.#notify();
      },
      (error: unknown) => {
        this.#failure = { error };
        this.#notify();
      },
    );
  }

  [Symbol.asyncIterator](): AsyncIterator<P> {
    if (this.#read) throw new Error("A Stream's pages are read once, by one reader.");
    this.#read = true;
    return this.#pagesAsTheyCome();
  }

  async *#pagesAsTheyCome(): AsyncGenerator<P> {
    for (;;) {
      if (this.#pages.length > 0) {
        yield this.#pages.shift() as P;
        continue;
      }
      if (this.#failure !== null) throw this.#failure.error;
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

function apiError(envelope: Envelope): ApiError {
  return new ApiError(envelope.response_status, envelope.errors, envelope.action);
}

function correlation(stream: string | null, requestId: unknown): string {
  return JSON.stringify([stream, requestId]);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A frame's stream (`null` on a plain route) and envelope; no envelope for anything else. */
function unwrap(frame: unknown): [string | null, Envelope | undefined] {
  if (!isObject(frame)) return [null, undefined];
  if (typeof frame["stream"] === "string" && isObject(frame["payload"])) {
    return [frame["stream"], envelope(frame["payload"])];
  }
  return [null, envelope(frame)];
}

function envelope(payload: { [key: string]: unknown }): Envelope | undefined {
  const { errors, action, response_status } = payload;
  if (!Array.isArray(errors) || typeof response_status !== "number") return undefined;
  if (action !== null && typeof action !== "string") return undefined;
  return {
    errors: errors as unknown[],
    data: payload["data"],
    action,
    response_status,
    request_id: payload["request_id"],
  };
}

function isObject(value: unknown): value is { [key: string]: unknown } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
