// Compiled, never run: the browser's WebSocket fits the client, and what the generated types
// refuse is refused (tsc fails on an `@ts-expect-error` line without an error).

import { Connection, type WebSocketConstructor, WsClient, WsItemsClient } from "./api.js";

export const browser: WebSocketConstructor = WebSocket; // lib.dom's

declare const connection: Connection;
const api = new WsClient(connection);
const items = new WsItemsClient(connection);

export async function refused(): Promise<void> {
  // @ts-expect-error: `text` is a string
  await api.echo.echo({ text: 1 });
  // @ts-expect-error: `text` is required
  await api.echo.echo({});
  // @ts-expect-error: `add` takes no `c`
  await items.add({ a: 1, b: 2, c: 3 });
  // @ts-expect-error: `retrieve` needs its `pk`
  await items.retrieve({});
  // @ts-expect-error: an action without a subscription takes no onEvent
  await items.add({ a: 1, b: 2 }, { onEvent: () => undefined });
  // @ts-expect-error: `add` replies with a number
  const sum: string = await items.add({ a: 1, b: 2 });
  // @ts-expect-error: the serializer has no field `colour`
  (await items.retrieve({ pk: 1 })).colour;
  // @ts-expect-error: an instance subscription's events are updates and deletes, not creates
  await api.observed.subscribe_instance({ pk: 1 }, { onEvent: (e) => e.action === "create" });
  // @ts-expect-error: a page's rows are the serializer's
  for await (const page of api.tasks.subscribe_list()) page.results[0]?.name;
  // @ts-expect-error: the stream `echo` has no action `list`
  await api.echo.list();
  void sum;
}
