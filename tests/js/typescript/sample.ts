// The generated client (api.ts, from tests/server/asgi.py's routes) against a real server:
// CRUD and a custom action on the plain route /ws/items/; on the multiplexed route /ws/, an
// echo, a list subscription read as a stream of pages and then its events, and an instance
// subscription's events.
//
// Usage: node out/sample.js <port> <slug>
// Prints one JSON line of what each call resolved to; exits 1 with the error otherwise.

import NodeWebSocket from "ws";

import {
  ApiError,
  Connection,
  type WebSocketConstructor,
  WsClient,
  WsItemsClient,
  type WsTasks2SubscribeListEvent,
  type WsTasks2SubscribeListPage,
  type WsObserved2SubscribeInstanceEvent,
} from "./api.js";

const WATCHDOG_MS = 25_000;
const EVENT_TIMEOUT_MS = 5_000;

const node: WebSocketConstructor = NodeWebSocket; // Node 20 has no global WebSocket

const [port, slug] = process.argv.slice(2);
const base = `ws://127.0.0.1:${port ?? ""}`;
setTimeout(() => fail(new Error("the sample timed out")), WATCHDOG_MS).unref();

function fail(error: unknown): never {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  console.log(JSON.stringify({ ok: false, error: text }));
  process.exit(1);
}

/** Resolves once `count` items are in `list`. */
function collected<T>(list: T[], count: number): { push(item: T): void; done: Promise<T[]> } {
  let resolve: (items: T[]) => void = () => undefined;
  const done = new Promise<T[]>((settle, reject) => {
    resolve = settle;
    setTimeout(() => reject(new Error(`${list.length} of ${count} events`)), EVENT_TIMEOUT_MS);
  });
  return {
    push(item: T) {
      list.push(item);
      if (list.length === count) resolve(list);
    },
    done,
  };
}

async function plainRoute(): Promise<Record<string, unknown>> {
  const connection = await Connection.open(base + WsItemsClient.address, node);
  const items = new WsItemsClient(connection);
  const created = await items.create({ data: { name: "milk", slug: `${slug}-item` } });
  const fetched = await items.retrieve({ pk: created.id });
  const patched = await items.patch({ pk: created.id, data: { done: true } });
  const listed = (await items.list()).filter((row) => row.slug === created.slug);
  const sum = await items.add({ a: 1.5, b: 2 });
  const deleted = await items.delete({ pk: created.id });
  let missing: unknown = "resolved";
  try {
    await items.retrieve({ pk: created.id });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    missing = { status: error.status, errors: error.errors, action: error.action };
  }
  connection.close();
  return { created, fetched, patched, listed, sum, deleted, missing };
}

async function multiplexedRoute(): Promise<Record<string, unknown>> {
  const connection = await Connection.open(base + WsClient.address, node);
  const api = new WsClient(connection);
  const echoed = await api.echo.echo({ text: "héllo ✓" });

  const first = await api.tasks.create({ data: { title: `${slug} first`, rank: 1 } });
  await api.tasks.create({ data: { title: `${slug} second`, rank: 2 } });
  const events = collected<WsTasks2SubscribeListEvent>([], 3);
  const subscription = api.tasks.subscribe_list(
    { title_has: slug ?? "", page_size: 1 },
    { onEvent: (event) => events.push(event) },
  );
  const pages: WsTasks2SubscribeListPage[] = [];
  for await (const page of subscription) pages.push(page);
  const subscribed = await subscription.result;

  const third = await api.tasks.create({ data: { title: `${slug} third`, rank: 3 } });
  await api.tasks.patch({ pk: third.id, data: { done: true } });
  await api.tasks.delete({ pk: first.id });
  const changes = (await events.done).map((event) =>
    event.action === "delete"
      ? { action: event.action, pk: event.data.pk }
      : { action: event.action, title: event.data.title, done: event.data.done },
  );

  const item = await api.items.create({ data: { name: "tea", slug: `${slug}-watched` } });
  const watched = collected<WsObserved2SubscribeInstanceEvent>([], 2);
  await api.observed.subscribe_instance(
    { pk: item.id },
    { onEvent: (event) => watched.push(event) },
  );
  await api.items.patch({ pk: item.id, data: { name: "green tea" } });
  await api.items.delete({ pk: item.id });
  const instance = (await watched.done).map((event) => [event.action, event.response_status]);
  connection.close();
  return {
    echoed,
    pages: pages.map((page) => page.results.map((row) => row.title)),
    subscribed: { count: subscribed.count, resumed: subscribed.resumed },
    changes,
    deleted_pk: first.id,
    instance,
  };
}

try {
  const plain = await plainRoute();
  const multiplexed = await multiplexedRoute();
  console.log(JSON.stringify({ ok: true, plain, multiplexed }));
  process.exit(0);
} catch (error) {
  fail(error);
}
