// The composer: the text box, its commands (/me, /topic, //), typing
// notices, and the messages on their way. A send shows at once as a pending
// copy under the list; the stream's echo (or the POST's answer, whichever
// comes second) replaces it. A failed send keeps its text with Retry and
// Discard, and a retry reuses its client_id, so a message whose answer was
// lost is not stored twice.

import { api, roomPath, waitText } from "./api.js";
import { streaming } from "./connection.js";
import { byId, make } from "./dom.js";
import { limits } from "./limits.js";
import * as messages from "./messages.js";
import * as rooms from "./rooms.js";
import * as session from "./session.js";

const TYPING_SEND_MS = 3000; // a typing notice at most this often

const form = byId("composer");
const input = byId("composer-input");
const errorLine = byId("composer-error");
const pendingList = byId("pending");

let room = null;
const pending = new Map(); // client_id -> {cid, room, text, kind, status, error, retryAt, timer, el}
let lastTypingSent = 0;

// setRoom points the composer at room and shows that room's pending sends.
export function setRoom(r) {
  room = r;
  input.placeholder = r ? "Message #" + r : "Message";
  pendingList.replaceChildren();
  for (const p of pending.values()) {
    p.el = null;
    if (p.room === room) renderPending(p);
  }
}

// clear forgets every pending send and the text typed, at the end of a
// session.
export function clear() {
  room = null;
  for (const p of pending.values()) clearInterval(p.timer);
  pending.clear();
  pendingList.replaceChildren();
  errorLine.textContent = "";
  input.value = "";
  autosize();
}

export function focus() {
  input.focus();
}

// showError puts a sentence under the composer.
export function showError(text) {
  errorLine.textContent = text;
}

// confirm drops the pending copy of a message of ours that is now shown.
export function confirm(m) {
  if (m.nick === session.nick() && m.client_id && pending.has(m.client_id)) {
    drop(pending.get(m.client_id));
  }
}

// newClientID returns 22 random characters of [A-Za-z0-9_-]: 128 bits from
// the browser's CSPRNG, so a retry can reuse it and the server can tell a
// repeat from a new message.
function newClientID() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

input.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    form.requestSubmit();
  }
});

// A browser that still delivers the Enter keypress after the keydown was
// cancelled (synthetic input does) must not leave a newline behind.
input.addEventListener("keypress", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey) ev.preventDefault();
});

input.addEventListener("input", () => {
  autosize();
  errorLine.textContent = "";
  const now = Date.now();
  if (input.value.trim() && streaming() && now - lastTypingSent > TYPING_SEND_MS) {
    lastTypingSent = now;
    api("POST", roomPath(room) + "/typing").catch(() => {});
  }
});

// autosize grows the composer with its text (up to the CSS max-height);
// empty, it goes back to one row.
function autosize() {
  input.style.height = "";
  if (input.value) input.style.height = input.scrollHeight + 2 + "px";
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  let text = input.value;
  if (!text.trim()) return;
  const topic = /^\/topic(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (topic) {
    setTopic(room, (topic[1] || "").trim());
    return;
  }
  let kind = "text";
  const action = /^\/me\s+([\s\S]+)$/.exec(text);
  if (action) {
    kind = "action";
    text = action[1];
  } else if (text.startsWith("//")) {
    text = text.slice(1); // "//x" sends "/x", as in the terminal client
  }
  const max = limits().text_max;
  if ([...text.trim()].length > max) {
    errorLine.textContent = "A message can hold at most " + max + " characters.";
    return;
  }
  input.value = "";
  autosize();
  lastTypingSent = 0;
  const p = { cid: newClientID(), room, text, kind, status: "pending", el: null };
  pending.set(p.cid, p);
  renderPending(p);
  messages.scrollToBottom();
  post(p);
});

// setTopic sets the room's topic with "/topic TEXT" ("/topic" alone clears
// it). The others' pages get it from their streams' room event.
async function setTopic(r, topic) {
  const max = limits().topic_max;
  if ([...topic].length > max) {
    errorLine.textContent = "A topic can hold at most " + max + " characters.";
    return;
  }
  try {
    await api("PUT", roomPath(r), { topic });
    input.value = "";
    autosize();
    rooms.setTopic(r, topic);
  } catch (e) {
    errorLine.textContent = "Could not set the topic: " + e.message;
  }
}

// post sends a pending message. A retry reuses its client_id.
async function post(p) {
  p.status = "pending";
  p.error = "";
  renderPending(p);
  try {
    const m = await api("POST", roomPath(p.room) + "/messages", {
      text: p.text,
      kind: p.kind,
      client_id: p.cid,
    });
    if (!pending.has(p.cid)) return; // the echo came first
    p.status = "sent";
    renderPending(p);
    if (m && p.room === room && messages.has(m.id)) drop(p);
  } catch (e) {
    if (!pending.has(p.cid)) return;
    p.status = "failed";
    if (e.status === 429) {
      p.retryAt = Date.now() + Math.max(1, e.retryAfter) * 1000;
      p.error = "Sending too fast.";
    } else {
      p.retryAt = 0;
      p.error = e.status === 0 ? "Not sent: the server cannot be reached." : "Not sent: " + e.message;
    }
    renderPending(p);
  }
}

function drop(p) {
  pending.delete(p.cid);
  clearInterval(p.timer);
  if (p.el) p.el.remove();
}

// renderPending draws a pending send: greyed while on its way, with the
// reason and Retry / Discard buttons when it failed.
function renderPending(p) {
  if (p.room !== room) return;
  if (!p.el) {
    p.el = messages.messageElement({ nick: session.nick(), kind: p.kind, text: p.text }, true);
    p.el.dataset.clientId = p.cid;
    pendingList.append(p.el);
  }
  const li = p.el;
  li.classList.add("pending");
  li.classList.toggle("failed", p.status === "failed");
  li.dataset.status = p.status;
  const status = li.querySelector(".status");
  let actions = li.querySelector(".actions");
  clearInterval(p.timer);
  if (p.status !== "failed") {
    status.textContent = p.status === "sent" ? "sent" : "sending…";
    if (actions) actions.remove();
    return;
  }
  if (!actions) {
    actions = make("div", "actions");
    const retry = make("button", "retry", "Retry");
    retry.type = "button";
    retry.addEventListener("click", () => post(p));
    const discard = make("button", "discard", "Discard");
    discard.type = "button";
    discard.addEventListener("click", () => {
      drop(p);
      input.focus();
    });
    actions.append(retry, discard);
    li.append(actions);
  }
  const retry = actions.querySelector(".retry");
  const tick = () => {
    const left = Math.ceil((p.retryAt - Date.now()) / 1000);
    if (left > 0) {
      status.textContent = p.error + " Try again in " + waitText(left) + ".";
      retry.disabled = true;
    } else {
      status.textContent = p.error;
      retry.disabled = false;
      clearInterval(p.timer);
    }
  };
  tick();
  if (p.retryAt > Date.now()) p.timer = setInterval(tick, 1000);
}
