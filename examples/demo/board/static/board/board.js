// The board's client: DCRF's wire protocol over one multiplexed websocket, no library.
"use strict";

const scheme = location.protocol === "https:" ? "wss" : "ws";
const socket = new WebSocket(`${scheme}://${location.host}/ws/`);
const pending = new Map(); // request_id → the request waiting for its final reply
const subscriptions = new Map(); // request_id → what to do with each event
const tasks = new Map(); // id → task, kept equal to the server's list by the list subscription
let nextRequest = 1;
let canWrite = false;
let followed = null; // {pk, requestId} of the instance subscription

const $ = (selector) => document.querySelector(selector);

function send(stream, payload) {
  socket.send(JSON.stringify({ stream, payload }));
}

// One action: a promise of its final reply's data; `onPage` receives the 206 pages before it.
function request(stream, action, args = {}, onPage = null) {
  const request_id = `${action}-${nextRequest++}`;
  return new Promise((resolve, reject) => {
    pending.set(request_id, { resolve, reject, onPage });
    send(stream, { action, request_id, ...args });
  });
}

// A subscription: its request_id at once, and `ready`, the promise of its action's reply.
function subscribe(stream, action, args, onEvent, onPage = null) {
  const requestId = `${action}-${nextRequest++}`;
  subscriptions.set(requestId, onEvent);
  const ready = new Promise((resolve, reject) => {
    pending.set(requestId, { resolve, reject, onPage });
    send(stream, { action, request_id: requestId, ...args });
  });
  return { requestId, ready };
}

socket.addEventListener("message", (message) => {
  const { payload } = JSON.parse(message.data);
  const waiting = pending.get(payload.request_id);
  if (waiting) {
    if (payload.response_status === 206) {
      waiting.onPage?.(payload.data);
      return;
    }
    pending.delete(payload.request_id);
    const ok = payload.response_status >= 200 && payload.response_status < 300;
    ok ? waiting.resolve(payload.data) : waiting.reject(payload);
    return;
  }
  const onEvent = subscriptions.get(payload.request_id);
  if (!onEvent) return;
  if (payload.response_status >= 400) {
    // The subscription has ended (access lost, or its copy can no longer be trusted).
    subscriptions.delete(payload.request_id);
    say(`${describe(payload)}: reload the page`, "error");
    return;
  }
  onEvent(payload);
});

function describe(reply) {
  const parts = [];
  for (const error of reply.errors ?? []) {
    if (typeof error === "string") parts.push(error);
    else for (const [field, texts] of Object.entries(error)) parts.push(`${field}: ${texts.join(" ")}`);
  }
  return `${reply.response_status}: ${parts.join("; ") || "failed"}`;
}

function say(text, kind = "info") {
  $("#message").textContent = text;
  $("#message").dataset.kind = kind;
}

// Whether the request succeeded; its error, if any, is shown.
function attempt(promise) {
  say("");
  return promise.then(
    () => true,
    (reply) => {
      say(describe(reply), "error");
      return false;
    },
  );
}

function render() {
  const list = $("#tasks");
  const rows = [...tasks.values()].sort((a, b) => a.id - b.id);
  const keep = new Set(rows.map((task) => String(task.id)));
  for (const item of [...list.children]) if (!keep.has(item.dataset.id)) item.remove();
  rows.forEach((task, index) => {
    let item = list.querySelector(`li[data-id="${task.id}"]`);
    if (!item) item = newRow(task);
    if (list.children[index] !== item) list.insertBefore(item, list.children[index] ?? null);
    item.classList.toggle("done", task.done);
    item.classList.toggle("followed", followed?.pk === task.id);
    item.querySelector(".toggle").checked = task.done;
    const title = item.querySelector(".title");
    if (document.activeElement !== title) title.value = task.title;
  });
}

function newRow(task) {
  const item = document.createElement("li");
  item.dataset.id = String(task.id);
  item.innerHTML = `<input type="checkbox" class="toggle" aria-label="done">
    <input class="title" aria-label="title" maxlength="80">
    <button type="button" class="follow">Follow</button>
    <button type="button" class="delete">Delete</button>`;
  const toggle = item.querySelector(".toggle");
  const title = item.querySelector(".title");
  toggle.disabled = !canWrite;
  title.readOnly = !canWrite;
  item.querySelector(".delete").hidden = !canWrite;
  toggle.addEventListener("change", () =>
    attempt(request("tasks", "toggle", { pk: task.id })).then(render),
  );
  title.addEventListener("keydown", (event) => {
    if (event.key === "Enter") title.blur();
  });
  title.addEventListener("change", () =>
    attempt(request("tasks", "rename", { pk: task.id, title: title.value })).then(render),
  );
  item.querySelector(".follow").addEventListener("click", () => follow(task.id));
  item.querySelector(".delete").addEventListener("click", () =>
    attempt(request("tasks", "delete", { pk: task.id })),
  );
  return item;
}

function showFollowed(task) {
  $("#selected").hidden = false;
  $("#selected-title").textContent = task ? task.title : "(deleted)";
  $("#selected-done").textContent = task ? (task.done ? "yes" : "no") : "";
  $("#selected-by").textContent = task?.created_by ?? "";
  $("#selected-at").textContent = task ? new Date(task.updated_at).toLocaleString() : "";
}

// An instance subscription: the followed task's panel changes with every event of it. The
// subscription comes first, then the read: a change between them is in the read or an event.
async function follow(pk) {
  if (followed) {
    subscriptions.delete(followed.requestId);
    send("tasks", { action: "unsubscribe_instance", pk: followed.pk, request_id: followed.requestId });
  }
  const current = () => followed?.requestId === subscription.requestId; // not followed since
  const subscription = subscribe("tasks", "subscribe_instance", { pk }, (event) => {
    if (current()) showFollowed(event.action === "delete" ? null : event.data);
  });
  followed = { pk, requestId: subscription.requestId };
  render();
  if (!(await attempt(subscription.ready))) return;
  const task = await request("tasks", "retrieve", { pk }).catch(() => null);
  if (current()) showFollowed(task);
}

// The list subscription: the whole board as 206 pages, then every create, update and delete.
async function watchBoard() {
  const onEvent = (event) => {
    if (event.action === "delete") tasks.delete(event.data.pk);
    else tasks.set(event.data.id, event.data);
    render();
  };
  const onPage = (page) => page.results.forEach((task) => tasks.set(task.id, task));
  await subscribe("tasks", "subscribe_list", {}, onEvent, onPage).ready;
  render();
}

socket.addEventListener("open", async () => {
  $("#connection").textContent = "live";
  const me = await request("me", "whoami");
  canWrite = me.can_write;
  $("#new-task").hidden = !canWrite;
  await watchBoard();
  $("#connection").dataset.state = "open";
});

socket.addEventListener("close", () => {
  $("#connection").textContent = "disconnected: reload the page";
  $("#connection").dataset.state = "closed";
});

$("#new-task").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("#new-title");
  attempt(request("tasks", "create", { data: { title: input.value } })).then((ok) => {
    if (ok) input.value = "";
  });
});

$("#clear-done").addEventListener("click", async () => {
  let cleared = 0;
  const count = request("tasks", "clear_done").then((deleted) => {
    cleared = deleted;
  });
  if (await attempt(count)) say(`${cleared} done task(s) cleared`);
});
