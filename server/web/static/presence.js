// Who is in the open room: the online list in the sidebar and the "is
// typing" line under the messages, both fed by the room's stream. Each
// other nick in the online list is a button that starts a direct message.

import { byId, make } from "./dom.js";
import * as session from "./session.js";

const TYPING_SHOW_MS = 5000; // a typing notice shows this long unless renewed

const onlineList = byId("presence-list");
const typingLine = byId("typing");

const typers = new Map(); // nick -> timer that clears the notice
let onlineNow = []; // who is online, sorted: the welcome's list, kept up to date

// What other modules do for this one, set once by app.js.
const hooks = {
  direct: (nick) => {}, // open a direct room with nick
};

export function wire(h) {
  Object.assign(hooks, h);
}

onlineList.addEventListener("click", (ev) => {
  const b = ev.target.closest("button[data-nick]");
  if (b) hooks.direct(b.dataset.nick);
});

// online returns who is online in the open room, sorted.
export function online() {
  return onlineNow.slice();
}

// setOnline shows who is online, from a welcome.
export function setOnline(names) {
  const valid = Array.isArray(names) ? names.filter((n) => typeof n === "string") : [];
  render(new Set(valid));
}

// applyPresence applies a presence event to the online list and returns
// its changes, [{nick, state}], in order. The server coalesces presence
// (one event per room every 250 ms at most) and sends only the changes
// since the last event: "changes", or for one change also "nick" and
// "state"; a server of protocol version 1 sends nick, state and the whole
// "online" list instead.
export function applyPresence(p) {
  if (!p || typeof p !== "object") return [];
  let changes = [];
  if (Array.isArray(p.changes)) {
    changes = p.changes.filter((c) => c && typeof c.nick === "string" && (c.state === "join" || c.state === "leave"));
  } else if (typeof p.nick === "string" && (p.state === "join" || p.state === "leave")) {
    changes = [{ nick: p.nick, state: p.state }];
  }
  if (!Array.isArray(p.changes) && Array.isArray(p.online)) {
    render(new Set(p.online.filter((n) => typeof n === "string")));
    return changes;
  }
  const next = new Set(onlineNow);
  for (const c of changes) {
    if (c.state === "join") next.add(c.nick);
    else next.delete(c.nick);
  }
  render(next);
  return changes;
}

function render(names) {
  const sorted = [...names].sort((a, b) => a.localeCompare(b));
  onlineNow = sorted;
  onlineList.replaceChildren(
    ...sorted.map((n) => {
      if (n === session.nick()) return make("li", "", n + " (you)");
      const li = make("li");
      const b = make("button", "nick-button", n);
      b.type = "button";
      b.dataset.nick = n;
      b.title = "Send " + n + " a direct message";
      li.append(b);
      return li;
    }),
  );
}

// typing shows that nick is typing, for a while; our own notices are not
// shown.
export function typing(nick) {
  if (typeof nick !== "string" || nick === session.nick()) return;
  clearTimeout(typers.get(nick));
  typers.set(nick, setTimeout(() => stoppedTyping(nick), TYPING_SHOW_MS));
  renderTyping();
}

// stoppedTyping takes nick off the typing line (they sent, or left).
export function stoppedTyping(nick) {
  if (!typers.has(nick)) return;
  clearTimeout(typers.get(nick));
  typers.delete(nick);
  renderTyping();
}

// clear empties both, for another room or the end of a session.
export function clear() {
  for (const t of typers.values()) clearTimeout(t);
  typers.clear();
  renderTyping();
  setOnline([]);
}

function renderTyping() {
  const n = [...typers.keys()];
  let s = "";
  if (n.length === 1) s = n[0] + " is typing…";
  else if (n.length === 2) s = n[0] + " and " + n[1] + " are typing…";
  else if (n.length > 2) s = "Several people are typing…";
  typingLine.textContent = s;
}
