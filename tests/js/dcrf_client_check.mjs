// Drives typed_dcrf's multiplexed route (tests/server/asgi.py, `/ws/`) with DCRF's own
// JavaScript client, dcrf-client, unchanged: CRUD on stream `items`, a missing row, custom
// actions on `items` and `echo`, and an instance subscription on `observed`. Every frame is
// logged; each check compares what dcrf-client resolves (or rejects with), the frame it sent
// and the reply frame, exactly.
//
// Usage: node dcrf_client_check.mjs <port> [slug]
// Prints one JSON line: {"ok": true, "checks": {...}} and exits 0, or {"ok": false, "failed":
// ..., "frames": [...]} and exits 1.

import { isDeepStrictEqual } from "node:util";

import dcrfClient from "dcrf-client";
import WebSocket from "ws";

const dcrf = dcrfClient.default; // dcrf-client is compiled TypeScript: its API is `default`
const REPLY_TIMEOUT_MS = 5_000;
const WATCHDOG_MS = 25_000;

const port = Number(process.argv[2]);
const slug = process.argv[3] ?? "dcrf-client";
if (!Number.isInteger(port) || port <= 0) {
  console.log(JSON.stringify({ ok: false, failed: "usage", error: "usage: <port> [slug]" }));
  process.exit(2);
}

/** Every frame on the socket, in order: {dir: "out" | "in" | "close", frame}. */
const frames = [];
let closedUnexpectedly = null;

/** ws's WebSocket, logging each frame; dcrf-client takes it as its `WebSocket` option. */
class LoggingWebSocket extends WebSocket {
  constructor(...args) {
    super(...args);
    this.on("message", (data, isBinary) => {
      const text = data.toString();
      frames.push({ dir: "in", binary: isBinary, frame: parse(text) });
    });
    this.on("close", (code, reason) => {
      frames.push({ dir: "close", frame: { code, reason: reason.toString() } });
      if (!closing) closedUnexpectedly = { code, reason: reason.toString() };
    });
  }

  send(data, ...rest) {
    frames.push({ dir: "out", frame: parse(String(data)) });
    super.send(data, ...rest);
  }
}

function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return { unparsable: text };
  }
}

class CheckFailed extends Error {
  constructor(check, details) {
    super(`${check}: ${details.error}`);
    this.check = check;
    this.details = details;
  }
}

let closing = false;
const client = dcrf.connect(`ws://127.0.0.1:${port}/ws/`, {
  // The serializer names the primary key `id`: dcrf-client matches update events by it.
  pkField: "id",
  // No reconnection: a dropped socket must fail the check, not be papered over.
  websocket: { WebSocket: LoggingWebSocket, maxRetries: 0, connectionTimeout: 5_000 },
});

function finish(code, result) {
  closing = true;
  console.log(JSON.stringify(result));
  client.close();
  process.exitCode = code;
  setTimeout(() => process.exit(code), 1_000).unref();
}

const watchdog = setTimeout(() => {
  finish(1, { ok: false, failed: "watchdog", error: `not done in ${WATCHDOG_MS} ms`, frames });
}, WATCHDOG_MS);

/**
 * Runs one dcrf-client call and returns what it settled with, the frame it sent and the
 * reply frame (matched by the request_id dcrf-client generated).
 */
async function exchange(check, call) {
  const start = frames.length;
  const settled = call().then(
    (value) => ({ resolved: true, value }),
    (value) => ({ resolved: false, value }),
  );
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), REPLY_TIMEOUT_MS);
  });
  const outcome = await Promise.race([settled, timeout]);
  clearTimeout(timer);
  if (outcome === null) {
    const error = closedUnexpectedly
      ? `the socket closed: ${JSON.stringify(closedUnexpectedly)}`
      : `no reply within ${REPLY_TIMEOUT_MS} ms`;
    throw new CheckFailed(check, { error });
  }
  const sent = frames.slice(start).filter((f) => f.dir === "out");
  if (sent.length !== 1) {
    throw new CheckFailed(check, { error: `expected one frame sent, got ${sent.length}` });
  }
  const requestId = sent[0].frame?.payload?.request_id;
  const replies = frames
    .slice(start)
    .filter((f) => f.dir === "in" && f.frame?.payload?.request_id === requestId);
  if (replies.length !== 1) {
    throw new CheckFailed(check, { error: `expected one reply, got ${replies.length}` });
  }
  return { ...outcome, sent: sent[0].frame, reply: replies[0].frame, requestId };
}

function expectEqual(check, what, actual, expected) {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new CheckFailed(check, { error: `${what} differs`, expected, actual });
  }
}

/** typed_dcrf's reply envelope: exactly five keys. */
function envelope(action, status, requestId, { data = null, errors = [] } = {}) {
  return { errors, data, action, response_status: status, request_id: requestId };
}

const checks = {};

/**
 * One request: dcrf-client must send `payload` (plus its request_id) on `stream`, the server
 * must reply with exactly the envelope, and dcrf-client must resolve with `data` (2xx) or
 * reject with the whole reply payload (otherwise).
 */
async function expectExchange(check, stream, call, payload, action, status, body) {
  const got = await exchange(check, call);
  const { requestId } = got;
  expectEqual(check, "frame sent", got.sent, {
    stream,
    payload: { ...payload, request_id: requestId },
  });
  if (typeof requestId !== "string" || requestId.length !== 36) {
    throw new CheckFailed(check, { error: "dcrf-client sent no UUID request_id", actual: got.sent });
  }
  const expected = envelope(action, status, requestId, body);
  expectEqual(check, "reply frame", got.reply, { stream, payload: expected });
  const ok = Math.floor(status / 100) === 2;
  expectEqual(check, "settled as", got.resolved, ok);
  expectEqual(check, ok ? "resolved value" : "rejection", got.value, ok ? expected.data : expected);
  checks[check] = { status, value: got.value };
  return got.value;
}

async function main() {
  const data = { name: "milk", slug };
  // create: the row is only known once the server has made it (its id and uuid).
  const creation = await exchange("create", () => client.create("items", data));
  const row = creation.reply?.payload?.data;
  if (row === null || typeof row !== "object" || !Number.isInteger(row.id)) {
    throw new CheckFailed("create", { error: "no row in the reply", actual: creation.reply });
  }
  expectEqual("create", "frame sent", creation.sent, {
    stream: "items",
    payload: { action: "create", data, request_id: creation.requestId },
  });
  expectEqual("create", "reply frame", creation.reply, {
    stream: "items",
    payload: envelope("create", 201, creation.requestId, { data: row }),
  });
  expectEqual("create", "resolved value", [creation.resolved, creation.value], [true, row]);
  const expectedRow = { id: row.id, name: "milk", slug, uuid: row.uuid, done: false, owner: null };
  expectEqual("create", "row", row, expectedRow);
  checks.create = { status: 201, value: row };
  const pk = row.id;

  const listed = await exchange("list", () => client.list("items"));
  expectEqual("list", "frame sent", listed.sent, {
    stream: "items",
    payload: { action: "list", data: {}, request_id: listed.requestId },
  });
  const rows = listed.reply?.payload?.data;
  expectEqual("list", "reply frame", listed.reply, {
    stream: "items",
    payload: envelope("list", 200, listed.requestId, { data: rows }),
  });
  expectEqual("list", "resolved value", [listed.resolved, listed.value], [true, rows]);
  const mine = Array.isArray(rows) ? rows.filter((r) => r.id === pk) : [];
  expectEqual("list", "the created row in the list", mine, [row]);
  checks.list = { status: 200, value: rows };

  await expectExchange(
    "retrieve",
    "items",
    () => client.retrieve("items", pk),
    { action: "retrieve", pk, data: {} },
    "retrieve",
    200,
    { data: row },
  );
  const renamed = { name: "oat milk", slug };
  const updatedRow = { ...row, name: "oat milk" };
  await expectExchange(
    "update",
    "items",
    () => client.update("items", pk, renamed),
    { action: "update", pk, data: renamed },
    "update",
    200,
    { data: updatedRow },
  );
  await expectExchange(
    "patch",
    "items",
    () => client.patch("items", pk, { done: true }),
    { action: "patch", pk, data: { done: true } },
    "patch",
    200,
    { data: { ...updatedRow, done: true } },
  );
  await expectExchange(
    "delete",
    "items",
    () => client.delete("items", pk),
    { action: "delete", pk, data: {} },
    "delete",
    204,
    { data: null },
  );
  await expectExchange(
    "retrieve_deleted",
    "items",
    () => client.retrieve("items", pk),
    { action: "retrieve", pk, data: {} },
    "retrieve",
    404,
    { errors: ["Not found"] },
  );
  // Custom actions: dcrf-client's generic request(stream, payload).
  await expectExchange(
    "add",
    "items",
    () => client.request("items", { action: "add", a: 1.5, b: 2 }),
    { action: "add", a: 1.5, b: 2 },
    "add",
    200,
    { data: 3.5 },
  );
  await expectExchange(
    "echo",
    "echo",
    () => client.request("echo", { action: "echo", text: "héllo ✓" }),
    { action: "echo", text: "héllo ✓" },
    "echo",
    200,
    { data: "héllo ✓" },
  );
  await subscriptionChecks();
  if (closedUnexpectedly !== null) {
    throw new CheckFailed("socket", { error: "the socket closed", actual: closedUnexpectedly });
  }
}

/** Resolves once `condition()` holds, or fails `check` after REPLY_TIMEOUT_MS. */
async function until(check, condition) {
  const deadline = Date.now() + REPLY_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new CheckFailed(check, { error: `no event within ${REPLY_TIMEOUT_MS} ms` });
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * dcrf-client's subscribe(stream, pk, callback): subscribe_instance is a 201 with data null;
 * a patch made through `items` calls the callback with the update (the serialized row, status
 * 200), a delete with {pk} (204), both frames carrying the subscription's request_id.
 */
async function subscriptionChecks() {
  const made = await client.create("items", { name: "bread", slug: `${slug}-watched` });
  const events = [];
  const subscription = client.subscribe("observed", made.id, (data, action) => {
    events.push({ action, data });
  });
  const subscribed = await subscription;
  expectEqual("subscribe", "resolved value", subscribed, null);
  const request = frames.filter((f) => f.dir === "out" && f.frame?.payload?.action === "subscribe_instance");
  const requestId = request.at(-1)?.frame?.payload?.request_id;
  expectEqual("subscribe", "frame sent", request.at(-1)?.frame, {
    stream: "observed",
    payload: { action: "subscribe_instance", request_id: requestId, pk: made.id },
  });
  checks.subscribe = { status: 201, value: subscribed };
  const patched = await client.patch("items", made.id, { done: true });
  await until("subscription_update", () => events.length >= 1);
  await client.delete("items", made.id);
  await until("subscription_delete", () => events.length >= 2);
  // dcrf-client hands a delete's {pk} over under its pkField.
  expectEqual("subscription", "events", events, [
    { action: "update", data: patched },
    { action: "delete", data: { id: made.id } },
  ]);
  const pushed = frames.filter((f) => f.dir === "in" && f.frame?.payload?.request_id === requestId);
  expectEqual("subscription", "event frames", pushed.map((f) => f.frame), [
    { stream: "observed", payload: envelope("subscribe_instance", 201, requestId) },
    { stream: "observed", payload: envelope("update", 200, requestId, { data: patched }) },
    { stream: "observed", payload: envelope("delete", 204, requestId, { data: { pk: made.id } }) },
  ]);
  checks.subscription = { events: events.length };
  expectEqual("unsubscribe", "was active", subscription.cancel(), true);
}

main().then(
  () => {
    clearTimeout(watchdog);
    finish(0, { ok: true, checks, frames: frames.length });
  },
  (error) => {
    clearTimeout(watchdog);
    const details = error instanceof CheckFailed ? error.details : { error: String(error) };
    const failed = error instanceof CheckFailed ? error.check : "exception";
    finish(1, { ok: false, failed, ...details, frames });
  },
);
