// Who is in the open room: the online list in the sidebar and the "is
// typing" line under the messages, both fed by the room's stream.

import { byId, make } from "./dom.js";
import * as session from "./session.js";

const TYPING_SHOW_MS = 5000; // a typing notice shows this long unless renewed

const onlineList = byId("presence-list");
const typingLine = byId("typing");

const typers = new Map(); // nick -> timer that clears the notice

let onlineNow = [];

// online returns who is online in the open room, sorted.
export function online() {
  return onlineNow.slice();
}

// setOnline shows who is online, from a welcome or presence event.
export function setOnline(names) {
  const valid = Array.isArray(names) ? names.filter((n) => typeof n === "string") : [];
  const sorted = [...new Set(valid)].sort((a, b) => a.localeCompare(b));
  onlineNow = sorted;
  onlineList.replaceChildren(...sorted.map((n) => make("li", "", n === session.nick() ? n + " (you)" : n)));
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
