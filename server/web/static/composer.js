// The composer: the text box, its /commands (commands.js), typing notices,
// and the lines of the outbox (outbox.js) drawn under the message list
// until the list shows them stored. A line the server cannot take yet says
// why and waits; only one it refused for good offers Retry and Discard.

import { api, roomPath, waitText } from "./api.js";
import * as commands from "./commands.js";
import { streaming } from "./connection.js";
import { byId, make } from "./dom.js";
import { humanError } from "./errors.js";
import { limits } from "./limits.js";
import * as messages from "./messages.js";
import * as outbox from "./outbox.js";
import * as presence from "./presence.js";
import * as rooms from "./rooms.js";
import * as session from "./session.js";

const TYPING_SEND_MS = 3000; // a typing notice at most this often

// On a narrow screen (a phone's keyboard has no Shift+Enter to speak of)
// Enter makes a new line and the Send button sends.
const narrow = window.matchMedia("(max-width: 600px)");

const form = byId("composer");
const input = byId("composer-input");
const errorLine = byId("composer-error");
const pendingList = byId("pending");
const hint = byId("composer-hint");

let room = null;
let lastTypingSent = 0;
const shown = new Map(); // client_id -> {el, timer} of the open room's lines

// What other modules do for this one, set once by app.js.
const hooks = {
  join: (room, kind) => {}, // open room (created first if missing, of kind)
  direct: (nick) => {}, // open the direct room with nick (made if new)
  leave: () => {}, // leave the open room
};

export function wire(h) {
  Object.assign(hooks, h);
}

// A line's state is drawn with the lines behind it, which wait on it.
outbox.onChange((line, removed) => {
  if (line.room !== room) return;
  if (removed) forget(line.cid);
  else if (line.state === "sent" && line.id && messages.has(line.id)) outbox.confirm(line.cid);
  else renderAll();
});

function renderAll() {
  for (const line of outbox.forRoom(room)) render(line);
}

// start begins a session: the outbox this nick left on this browser is
// sent.
export function start(nick) {
  outbox.start(nick);
}

// relabel names the open room in the text box's placeholder, as the room
// list now names it (a direct room by its other members).
export function relabel() {
  input.placeholder = room ? "Message " + rooms.label(room) : "Message";
}

// setRoom points the composer at room and shows that room's lines.
export function setRoom(r) {
  room = r;
  relabel();
  for (const cid of [...shown.keys()]) forget(cid);
  for (const line of outbox.forRoom(room)) {
    // A stored line of the room just opened comes with its history.
    if (line.state === "sent") outbox.confirm(line.cid);
  }
  renderAll();
}

// clear stops sending and forgets the text typed, at the end of a session.
// The unsent lines stay stored for this nick's next sign-in here.
export function clear() {
  outbox.stop();
  room = null;
  for (const cid of [...shown.keys()]) forget(cid);
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

// confirm drops the outbox line of a message of ours that is now shown.
export function confirm(m) {
  if (m.nick === session.nick() && m.client_id) outbox.confirm(m.client_id);
}

// wake is told the connection is back: lines waiting for the server go now.
export function wake() {
  outbox.wake();
}

function updateHint() {
  hint.textContent = narrow.matches
    ? "Enter adds a line · Send sends · /help lists the commands"
    : "Enter sends · Shift+Enter adds a line · /help lists the commands";
}
updateHint();
narrow.addEventListener("change", updateHint);

input.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && !narrow.matches) {
    ev.preventDefault();
    form.requestSubmit();
  }
});

// A browser that still delivers the Enter keypress after the keydown was
// cancelled (synthetic input does) must not leave a newline behind.
input.addEventListener("keypress", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !narrow.matches) ev.preventDefault();
});

input.addEventListener("input", () => {
  autosize();
  errorLine.textContent = "";
  const now = Date.now();
  const text = input.value.trim();
  if (text && !text.startsWith("/") && streaming() && now - lastTypingSent > TYPING_SEND_MS) {
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

function clearInput() {
  input.value = "";
  autosize();
  lastTypingSent = 0;
}

form.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = input.value;
  if (!text.trim()) return;
  const p = commands.parse(text);
  if (p.error) {
    errorLine.textContent = p.error;
    return;
  }
  if (p.command) {
    p.command.run(actions, p.args);
    return;
  }
  send(p.text, "text");
});

// actions are what the commands do, for commands.js.
const actions = {
  send,
  join: async (name) => {
    const r = name.toLowerCase();
    if (!rooms.valid(r)) {
      errorLine.textContent =
        "A room name is 1 to 64 lower-case letters, digits, - or _, starting with a letter or digit.";
      return;
    }
    clearInput();
    try {
      await hooks.join(r);
    } catch (e) {
      errorLine.textContent = "Could not open #" + r + ": " + humanError(e);
    }
  },
  create: async (name, flag) => {
    const r = name.toLowerCase();
    if (flag !== "" && flag !== "--private") {
      errorLine.textContent = "Usage: /create ROOM [--private]. Nothing was sent.";
      return;
    }
    if (!rooms.valid(r)) {
      errorLine.textContent =
        "A room name is 1 to 64 lower-case letters, digits, - or _, starting with a letter or digit.";
      return;
    }
    clearInput();
    try {
      await hooks.join(r, flag === "--private" ? "private" : "public");
    } catch (e) {
      errorLine.textContent = "Could not create #" + r + ": " + humanError(e);
    }
  },
  msg: async (nick, text) => {
    clearInput();
    try {
      await hooks.direct(nick);
    } catch (e) {
      errorLine.textContent =
        e.code === "user_not_found" ? "There is no account " + nick + "." : "Could not open a direct room: " + humanError(e);
      if (text) input.value = "/msg " + nick + " " + text;
      return;
    }
    if (text) send(text, "text");
  },
  leave: () => {
    if (room === "general") {
      messages.addNote("#general is where the page starts; there is no room to go back to.");
      clearInput();
      return;
    }
    clearInput();
    hooks.leave();
  },
  topic: (text) => {
    if (text === "") {
      const t = rooms.topic(room);
      messages.addNote(t ? "The topic of #" + room + " is: " + t : "#" + room + " has no topic.");
      clearInput();
      return;
    }
    setTopic(room, text);
  },
  who: () => {
    const names = presence.online();
    messages.addNote(
      names.length ? "Online in #" + room + ": " + names.join(", ") + "." : "Nobody is online in #" + room + ".",
    );
    clearInput();
  },
  help: () => {
    messages.addNote("Commands: " + commands.helpLines().join(" · "));
    clearInput();
  },
};

// send queues text (kind "text" or "action") for the open room.
function send(text, kind) {
  const max = limits().text_max;
  if ([...text.trim()].length > max) {
    errorLine.textContent = "A message can hold at most " + max + " characters.";
    return;
  }
  clearInput();
  outbox.add(room, text, kind);
  messages.scrollToBottom();
}

// setTopic sets the room's topic. The others' pages get it from their
// streams' room event.
async function setTopic(r, topic) {
  const max = limits().topic_max;
  if ([...topic].length > max) {
    errorLine.textContent = "A topic can hold at most " + max + " characters.";
    return;
  }
  try {
    await api("PUT", roomPath(r), { topic });
    clearInput();
    rooms.setTopic(r, topic);
  } catch (e) {
    errorLine.textContent = "Could not set the topic: " + humanError(e);
  }
}

function forget(cid) {
  const s = shown.get(cid);
  if (!s) return;
  clearInterval(s.timer);
  s.el.remove();
  shown.delete(cid);
}

// render draws an outbox line of the open room: greyed while on its way,
// saying what it waits for, and with the reason and Retry / Discard when
// it was refused for good. The reader at the bottom stays there, so the
// buttons are never left below the fold.
function render(line) {
  const stick = messages.atBottom();
  const ahead = outbox.forRoom(room);
  const waitingAhead = ahead.slice(0, ahead.indexOf(line)).some((l) => l.state === "waiting");
  let s = shown.get(line.cid);
  if (!s) {
    const el = messages.messageElement({ nick: session.nick(), kind: line.kind, text: line.text }, true);
    el.dataset.clientId = line.cid;
    el.classList.add("pending");
    pendingList.append(el);
    s = { el, timer: 0 };
    shown.set(line.cid, s);
  }
  const li = s.el;
  li.classList.toggle("failed", line.state === "failed");
  li.dataset.status = line.state;
  const status = li.querySelector(".status");
  let buttons = li.querySelector(".actions");
  clearInterval(s.timer);
  s.timer = 0;
  if (line.state !== "failed" && buttons) buttons.remove();
  switch (line.state) {
    case "queued":
      status.textContent = waitingAhead ? "waiting for the server…" : "queued";
      break;
    case "sending":
      status.textContent = "sending…";
      break;
    case "sent":
      status.textContent = "sent";
      break;
    case "waiting":
      status.textContent = "waiting for the server…";
      break;
    case "limited": {
      const tick = () => {
        const left = Math.ceil((line.retryAt - Date.now()) / 1000);
        status.textContent =
          left > 0 ? "Sending too fast: sending again in " + waitText(left) + "." : "sending…";
        if (left <= 0) clearInterval(s.timer);
      };
      tick();
      s.timer = setInterval(tick, 1000);
      break;
    }
    case "failed":
      status.textContent = "Not sent: " + line.error;
      if (!buttons) {
        buttons = make("div", "actions");
        const retry = make("button", "retry", "Retry");
        retry.type = "button";
        retry.addEventListener("click", () => outbox.retry(line.cid));
        const discard = make("button", "discard", "Discard");
        discard.type = "button";
        discard.addEventListener("click", () => {
          outbox.discard(line.cid);
          input.focus();
        });
        buttons.append(retry, discard);
        li.append(buttons);
      }
      break;
  }
  if (stick) messages.scrollToBottom();
}
