// The generated client's runtime (Connection, Stream) against a socket of this file's own:
// what it sends, and what it makes of replies, pages, events, errors, frames that are not
// envelopes, and a socket that fails or closes.
//
// Usage: node out/runtime_check.js
// Prints one JSON line: the outcome of each check (tests/test_typescript.py compares them).

import {
  ApiError,
  Connection,
  ConnectionClosed,
  type Envelope,
  Stream,
  type WebSocketLike,
} from "./api.js";

type Handler = (event: unknown) => void;

class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly sent: unknown[] = [];
  onopen: ((event: never) => void) | null = null;
  onmessage: ((event: never) => void) | null = null;
  onclose: ((event: never) => void) | null = null;
  onerror: ((event: never) => void) | null = null;

  send(data: string): void {
    this.sent.push(JSON.parse(data));
  }

  close(): void {
    this.readyState = 3;
    this.#call(this.onclose, {});
  }

  open(): void {
    this.readyState = 1;
    this.#call(this.onopen, {});
  }

  fail(): void {
    this.#call(this.onerror, {});
  }

  deliver(frame: unknown, raw = false): void {
    this.#call(this.onmessage, { data: raw ? frame : JSON.stringify(frame) });
  }

  #call(handler: ((event: never) => void) | null, event: unknown): void {
    (handler as Handler | null)?.(event);
  }
}

function reply(action: string | null, requestId: unknown, data: unknown, status = 200): Envelope {
  return { errors: [], data, action, response_status: status, request_id: requestId };
}

function failure(action: string | null, requestId: unknown, status: number, errors: unknown[]) {
  return { errors, data: null, action, response_status: status, request_id: requestId };
}

/** What a promise settles to, as JSON-ready data. */
async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return { resolved: await promise };
  } catch (error) {
    if (error instanceof ApiError) {
      return { rejected: error.name, status: error.status, errors: error.errors, action: error.action };
    }
    return { rejected: error instanceof Error ? error.name : String(error) };
  }
}

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
const checks: Record<string, unknown> = {};

{
  // Sent once open; a reply resolves, an error envelope rejects, its action null or not.
  const socket = new FakeSocket();
  const connection = new Connection(socket);
  const first = connection.request<number>(null, "add", { a: 1, b: 2 });
  await tick();
  checks["sent_before_open"] = socket.sent.length;
  socket.open();
  await tick();
  const second = connection.request(null, "add", { a: "x" });
  const third = connection.request(null, "nope", {});
  await tick();
  checks["sent"] = socket.sent;
  socket.deliver(reply("add", 1, 3));
  socket.deliver(failure("add", 2, 400, [{ a: ["A valid number is required."] }]));
  socket.deliver(failure(null, 3, 405, ["Unable to find action in message body."]));
  checks["replies"] = [await outcome(first), await outcome(second), await outcome(third)];
}

{
  // Frames that are no envelope, or answer nothing pending, are dropped; the reply still lands.
  const socket = new FakeSocket();
  socket.open();
  const connection = new Connection(socket);
  const pending = connection.request(null, "echo", { text: "a" }, { requestId: "mine" });
  for (const frame of ["not json", "42", "[1]", '{"errors": "x"}', '{"errors": [], "action": 7}']) {
    socket.deliver(frame, true);
  }
  socket.deliver(new Uint8Array([123, 125]), true); // a binary frame
  socket.deliver(reply("echo", "other", "b"));
  socket.deliver(reply("echo", "mine", "a"));
  checks["dropped"] = await outcome(pending);
  const clash = connection.request(null, "echo", {}, { requestId: "again" });
  const same = connection.request(null, "echo", {}, { requestId: "again" });
  checks["same_request_id"] = await outcome(same);
  socket.deliver(reply("echo", "again", "ok"));
  checks["first_of_the_two"] = await outcome(clash);
}

{
  // Events before and after the reply reach onEvent, until stopListening; streams are apart.
  const socket = new FakeSocket();
  socket.open();
  const connection = new Connection(socket);
  const events: unknown[] = [];
  const subscribed = connection.request<null, Envelope>(
    "tasks",
    "subscribe_instance",
    { pk: 1 },
    { requestId: 5, onEvent: (event) => events.push([event.action, event.data]) },
  );
  const other = connection.request("items", "retrieve", { pk: 1 }, { requestId: 5 });
  socket.deliver({ stream: "tasks", payload: reply("update", 5, { pk: 1, at: "before" }) });
  socket.deliver({ stream: "tasks", payload: reply("subscribe_instance", 5, null, 201) });
  socket.deliver({ stream: "tasks", payload: reply("update", 5, { pk: 1, at: "after" }) });
  socket.deliver({ stream: "items", payload: reply("update", 5, { pk: 1, at: "items" }) });
  checks["subscribed"] = await outcome(subscribed);
  connection.stopListening(5, "tasks");
  socket.deliver({ stream: "tasks", payload: reply("delete", 5, { pk: 1 }, 204) });
  checks["events"] = events;
  socket.deliver({ stream: "items", payload: reply("retrieve", 5, { pk: 1 }) });
  checks["other_stream"] = await outcome(other);
  checks["frame"] = socket.sent[0];
}

{
  // A failed request with a subscription's request_id leaves the subscription; an error
  // envelope after the reply ends it (onError); a page nobody reads is no reply.
  const socket = new FakeSocket();
  socket.open();
  const connection = new Connection(socket);
  const events: unknown[] = [];
  const errors: unknown[] = [];
  const subscribed = connection.request<null, Envelope>(
    null,
    "subscribe_list",
    {},
    {
      requestId: "x",
      onEvent: (event) => events.push(event.action),
      onError: (error) => errors.push([error.status, error.errors]),
    },
  );
  socket.deliver(reply("subscribe_list", "x", { results: [] }, 206)); // no onPage: dropped
  socket.deliver(reply("subscribe_list", "x", { count: 0 }, 201));
  const refused = connection.request(null, "retrieve", { pk: 9 }, { requestId: "x" });
  socket.deliver(failure("retrieve", "x", 404, ["Not found"]));
  socket.deliver(reply("create", "x", { pk: 1 }));
  socket.deliver(failure("subscribe_list", "x", 500, ["Server error."]));
  socket.deliver(reply("update", "x", { pk: 1 }));
  checks["subscription_kept"] = {
    subscribed: await outcome(subscribed),
    refused: await outcome(refused),
    events,
    errors,
  };
  const own = connection.request(null, "echo", {}, { requestId: null });
  socket.deliver(reply("echo", null, "mine"));
  checks["request_id_null"] = [await outcome(own), socket.sent.at(-1)];
  const sent = socket.sent.length;
  const unserializable = connection.request(null, "echo", { n: 1n }, { onEvent: () => undefined });
  checks["not_json"] = [await outcome(unserializable), socket.sent.length - sent];
}

{
  // A stream: pages as they come, then the reply; an error ends both.
  const socket = new FakeSocket();
  socket.open();
  const connection = new Connection(socket);
  const stream = new Stream<unknown, unknown>((onPage) =>
    connection.request(null, "stream_list", {}, {}, onPage),
  );
  const pages: unknown[] = [];
  const read = (async () => {
    for await (const page of stream) pages.push(page);
  })();
  socket.deliver(reply("stream_list", 1, { results: [1] }, 206));
  await tick();
  socket.deliver(reply("stream_list", 1, { results: [2] }, 206));
  socket.deliver(reply("stream_list", 1, { end: true }));
  await read;
  checks["pages"] = { pages, result: await outcome(stream.result) };
  try {
    for await (const page of stream) pages.push(page);
    checks["read_twice"] = "read";
  } catch (error) {
    checks["read_twice"] = error instanceof Error ? error.message : String(error);
  }

  const failing = new Stream<unknown, unknown>((onPage) =>
    connection.request(null, "stream_list", {}, {}, onPage),
  );
  socket.deliver(reply("stream_list", 2, { results: [1] }, 206));
  socket.deliver(failure("stream_list", 2, 500, ["Server error."]));
  const seen: unknown[] = [];
  const iteration = (async () => {
    for await (const page of failing) seen.push(page);
  })();
  checks["failed_stream"] = {
    seen_before: await outcome(iteration),
    pages: seen,
    result: await outcome(failing.result),
  };
}

{
  // A socket that closes rejects what waits and what comes; one that fails to open, too.
  const socket = new FakeSocket();
  socket.open();
  const connection = new Connection(socket);
  const waiting = connection.request(null, "echo", {});
  socket.close();
  checks["closed"] = [await outcome(waiting), await outcome(connection.request(null, "echo", {}))];
  const refused = new FakeSocket();
  const never = new Connection(refused);
  const asked = never.request(null, "echo", {});
  refused.fail();
  checks["failed_open"] = [await outcome(never.opened), await outcome(asked)];
  const shut = new FakeSocket();
  shut.readyState = 3; // closed before it was given
  const late = new Connection(shut);
  const quiet = new FakeSocket();
  const unopened = new Connection(quiet);
  quiet.close(); // closed before it opened, without an error
  checks["closed_before_open"] = [
    await outcome(late.request(null, "echo", {})),
    await outcome(unopened.opened),
  ];
  Reflect.deleteProperty(globalThis, "WebSocket"); // Node 22 and later have one
  checks["open_without_websocket"] = await outcome(Connection.open("ws://127.0.0.1:1/"));
  checks["closed_is"] = new ConnectionClosed().message;
}

console.log(JSON.stringify(checks));
