// The message list of the open room: its history pages, the live messages
// the connection hands it, and the scrolling around them. It owns which
// messages are shown (by id, in id order, each once); the connection
// decides when the newest page is loaded and where the stream resumes.
//
// Between the messages (li.msg) it draws quiet lines (li.note): topic
// changes, joins and leaves, and the answers of local commands; and day
// separators (li.daysep) before the first message of each day. They are
// not messages: they have no id, are never counted or ordered as one, and
// go away with the list. The sender of a group cut by the top of the view
// is shown over it (#top-sender).

import { byId, make } from "./dom.js";
import { fetchPage } from "./history.js";
import { compare, parse } from "./ids.js";
import { label } from "./rooms.js";
import * as session from "./session.js";

const PAGE_SIZE = 50; // history pages wanted; limits.js caps them at the server's
const CATCH_UP_MAX = 200; // most messages a catch-up reads; older ones come by scrolling
const NEAR_BOTTOM_PX = 40;
const NEAR_TOP_PX = 80;
const GROUP_MS = 5 * 60 * 1000;

const scroller = byId("scroller");
const historyState = byId("history-state");
const list = byId("messages");
const newMessages = byId("new-messages");
const topSender = byId("top-sender");

let room = null;
let gen = 0; // bumped when the list is cleared; a load that finds it changed drops its page
const ids = new Set(); // ids of the messages shown
let oldest = null;
let newest = null;
let hasMore = false; // older messages exist on the server
let loadingOlder = false;

// What other modules do about this list, set once by app.js.
const hooks = {
  inserted: (m) => {}, // a message was shown (the composer drops its pending copy)
  newest: (room, id) => {}, // the newest message shown in room is now id
  focusComposer: () => {},
};

export function wire(h) {
  Object.assign(hooks, h);
}

// show empties the list for room; the connection then loads it.
export function show(r) {
  room = r;
  clear();
}

// close empties the list at the end of a session.
export function close() {
  room = null;
  clear();
}

// clear empties the list and drops every load in flight.
export function clear() {
  gen++;
  empty();
}

function empty() {
  ids.clear();
  oldest = null;
  newest = null;
  hasMore = false;
  loadingOlder = false;
  list.replaceChildren();
  historyState.textContent = "";
  newMessages.hidden = true;
  topSender.hidden = true;
}

// newestID returns the id of the newest message shown, or null.
export function newestID() {
  return newest;
}

// has reports whether the message with that id is shown.
export function has(id) {
  return ids.has(id);
}

// notice puts a sentence where the list says whether there is more.
export function notice(text) {
  historyState.textContent = text;
}

// loadNewest shows the newest page of the room's history in place of
// whatever was shown. It resolves true once shown and false when the list
// was cleared meanwhile (another room, a reset); it rejects with the
// APIError after saying on the page why nothing is shown.
export async function loadNewest() {
  const g = gen;
  const r = room;
  historyState.textContent = "Loading…";
  list.setAttribute("aria-busy", "true");
  let page;
  try {
    page = await fetchPage(r, {}, PAGE_SIZE);
  } catch (e) {
    if (g !== gen) return false;
    list.removeAttribute("aria-busy");
    if (e.status === 404) historyState.textContent = "There is no room #" + r + ".";
    else if (e.status !== 401) historyState.textContent = "Could not load messages: " + e.message + " Retrying…";
    throw e;
  }
  if (g !== gen) return false;
  list.removeAttribute("aria-busy");
  // Quiet lines that arrived while the page was loading stay, after it.
  const notes = [...list.querySelectorAll(":scope > li.note")];
  empty();
  for (const m of page.messages) insert(m);
  list.append(...notes);
  hasMore = page.hasMore;
  updateHistoryState();
  scrollToBottom();
  return true;
}

// catchUp shows the messages up to lastID that the stream will not bring:
// it is needed when the stream started without a resume point (the room
// was empty when its history was read), so whatever arrived in between has
// to be read. It reads back from the newest message in pages of the size
// the server allows until the room's beginning or CATCH_UP_MAX messages;
// older ones are left to scrolling.
export async function catchUp(lastID) {
  const g = gen;
  const got = [];
  let more = false;
  let before = "";
  try {
    while (got.length < CATCH_UP_MAX) {
      const page = await fetchPage(room, { before }, CATCH_UP_MAX - got.length);
      if (g !== gen) return;
      got.push(...page.messages);
      more = page.hasMore;
      const first = page.messages[0];
      if (!more || !valid(first)) break;
      before = first.id;
    }
  } catch (e) {
    // What was read is shown; the rest comes by scrolling, or with the
    // next reset or reload.
    if (g !== gen) return;
    more = more || got.length > 0;
  }
  const stick = atBottom();
  let added = false;
  for (const m of got) {
    if (valid(m) && compare(m.id, lastID) <= 0 && insert(m)) added = true;
  }
  if (added) {
    hasMore = hasMore || more;
    updateHistoryState();
    if (stick) scrollToBottom();
    else newMessages.hidden = false;
  }
}

// addLive shows a message from the stream. The view stays at the bottom if
// the reader was there or wrote it; otherwise the new-messages button
// appears. It returns true when the message was new.
export function addLive(m) {
  if (!valid(m)) return false;
  const stick = atBottom();
  const mine = m.nick === session.nick();
  const first = ids.size === 0;
  if (!insert(m)) return false;
  if (first) updateHistoryState();
  if (stick || mine) scrollToBottom();
  else newMessages.hidden = false;
  return true;
}

// fillViewport loads older pages until the list can scroll, so that
// scrolling to the top is possible at all.
export function fillViewport() {
  if (hasMore && !loadingOlder && scroller.scrollHeight <= scroller.clientHeight + NEAR_TOP_PX) {
    loadOlder();
  }
}

async function loadOlder() {
  if (!hasMore || loadingOlder || !oldest) return;
  loadingOlder = true;
  const g = gen;
  historyState.textContent = "Loading older messages…";
  let page;
  try {
    page = await fetchPage(room, { before: oldest }, PAGE_SIZE);
  } catch (e) {
    if (g === gen) {
      loadingOlder = false;
      historyState.textContent = "Could not load older messages: " + e.message;
    }
    return;
  }
  if (g !== gen) return;
  const fromBottom = scroller.scrollHeight - scroller.scrollTop;
  list.setAttribute("aria-busy", "true");
  const msgs = page.messages;
  for (let i = msgs.length - 1; i >= 0; i--) insert(msgs[i]);
  list.removeAttribute("aria-busy");
  hasMore = page.hasMore && msgs.length > 0;
  scroller.scrollTop = scroller.scrollHeight - fromBottom; // keep what the reader was looking at in place
  loadingOlder = false;
  updateHistoryState();
  fillViewport();
}

function updateHistoryState() {
  if (hasMore) {
    historyState.textContent = "";
  } else {
    historyState.textContent = ids.size
      ? "This is the beginning of " + label(room) + "."
      : "No messages in #" + room + " yet.";
  }
}

// atBottom reports whether the reader sees the end of the list.
export function atBottom() {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight <= NEAR_BOTTOM_PX;
}

// scrollToBottom shows the newest message and hides the new-messages
// button.
export function scrollToBottom() {
  scroller.scrollTop = scroller.scrollHeight;
  newMessages.hidden = true;
}

scroller.addEventListener("scroll", () => {
  if (scroller.scrollTop <= NEAR_TOP_PX) loadOlder();
  if (atBottom()) newMessages.hidden = true;
  showTopSenderSoon();
}, { passive: true });

// addNote puts a quiet line at the end of the list: something that
// happened in the room (a topic change, a join or leave) or the answer of a
// local command. It is never sent anywhere.
export function addNote(text, kind) {
  const stick = atBottom();
  const li = make("li", "note" + (kind ? " " + kind : ""), text);
  list.append(li);
  if (stick) scrollToBottom();
}

// The sender shown over the top of the view: when the first message in
// view is a group's continuation (its name left out) or its name is above
// the top edge, the reader would not know who wrote it.
let topSenderFrame = 0;
function showTopSenderSoon() {
  if (!topSenderFrame) topSenderFrame = requestAnimationFrame(showTopSender);
}

function showTopSender() {
  topSenderFrame = 0;
  const top = scroller.getBoundingClientRect().top;
  let first = null;
  for (const li of list.children) {
    if (li.getBoundingClientRect().bottom > top + 4) {
      first = li;
      break;
    }
  }
  const cut =
    first &&
    first.classList.contains("msg") &&
    (first.classList.contains("cont") || first.getBoundingClientRect().top < top - 2);
  topSender.hidden = !cut;
  topSender.textContent = cut ? first.dataset.nick : "";
}

newMessages.addEventListener("click", () => {
  scrollToBottom();
  hooks.focusComposer();
});

// Keep the bottom in view when the layout changes size (keyboard opening
// on a phone, window resize) if the reader was at the bottom.
let wasAtBottom = true;
scroller.addEventListener("scroll", () => {
  wasAtBottom = atBottom();
}, { passive: true });
new ResizeObserver(() => {
  if (wasAtBottom) scroller.scrollTop = scroller.scrollHeight;
  showTopSenderSoon();
}).observe(scroller);

function formatTime(ts) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return ["", ""];
  const now = new Date();
  const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const sameDay = d.toDateString() === now.toDateString();
  return [sameDay ? time : d.toLocaleDateString() + " " + time, d.toLocaleString()];
}

// messageElement builds one message's list item; pending is a message of
// ours on its way, which gets a status line instead of a time. Every piece
// of text from the server goes in through textContent.
export function messageElement(m, pending) {
  const li = make("li", "msg");
  if (m.nick === session.nick()) li.classList.add("mine");
  if (m.kind === "action") li.classList.add("action");
  const meta = make("div", "meta");
  meta.append(make("span", "author", m.nick));
  // A message something other than a person posted (an incoming webhook:
  // via "hook") is marked as a bot's, so a hook named like a person does
  // not pass for one.
  if (typeof m.via === "string" && m.via !== "") {
    li.classList.add("via-bot");
    meta.append(make("span", "bot", "bot"));
  }
  if (pending) {
    meta.append(make("span", "status"));
  } else {
    const t = document.createElement("time");
    const [shown, full] = formatTime(m.ts);
    t.dateTime = typeof m.ts === "string" ? m.ts : "";
    t.textContent = shown;
    t.title = full;
    meta.append(t);
  }
  const text = make("p", "text");
  if (m.kind === "action") {
    // "* nick text": the nick and the text are separate isolated runs
    // (style.css), so a bidi control in the text cannot move the nick.
    text.append("* ", make("span", "nick", m.nick), " ", make("span", "body", m.text));
  } else {
    text.textContent = m.text;
  }
  li.append(meta, text);
  return li;
}

// dayOf returns the local calendar day of a message time in ms, as the
// words its separator shows, or "" when the time is unknown.
function dayOf(t) {
  if (!t) return "";
  const d = new Date(t);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return "Today";
  const y = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
  if (d.toDateString() === y.toDateString()) return "Yesterday";
  return d.toLocaleDateString([], {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: d.getFullYear() === now.getFullYear() ? undefined : "numeric",
  });
}

// group marks a message that follows one by the same nick within a few
// minutes, so the page can leave out the repeated name (it stays in the
// text for screen readers); after a quiet line or a day's change the name
// shows again. The first message of a day carries the day's separator.
function group(li) {
  if (!li.classList.contains("msg")) return;
  const prev = li.previousElementSibling;
  let before = prev;
  while (before && !before.classList.contains("msg")) before = before.previousElementSibling;
  const day = dayOf(Number(li.dataset.t));
  const newDay = !!day && (!before || dayOf(Number(before.dataset.t)) !== day);
  let sep = prev && prev.classList.contains("daysep") ? prev : null;
  if (newDay) {
    if (!sep) {
      sep = make("li", "daysep");
      li.before(sep);
    }
    sep.textContent = day;
  } else if (sep) {
    sep.remove();
  }
  const cont =
    !!prev &&
    !newDay &&
    prev.classList.contains("msg") &&
    prev.dataset.nick === li.dataset.nick &&
    !li.classList.contains("action") &&
    !prev.classList.contains("action") &&
    Math.abs(Number(li.dataset.t) - Number(prev.dataset.t)) < GROUP_MS;
  li.classList.toggle("cont", cont);
}

function valid(m) {
  return (
    !!m &&
    typeof m.id === "string" &&
    parse(m.id) !== null &&
    typeof m.nick === "string" &&
    typeof m.text === "string"
  );
}

// insert shows a message of the open room in id order, once. It returns
// true when the message was new.
function insert(m) {
  if (!valid(m) || ids.has(m.id)) return false;
  if (m.room !== undefined && m.room !== room) return false;
  ids.add(m.id);
  const li = messageElement(m, false);
  li.dataset.id = m.id;
  li.dataset.nick = m.nick;
  li.dataset.t = String(Date.parse(m.ts) || 0);
  if (m.client_id) li.dataset.clientId = m.client_id;
  // Messages are ordered among themselves; quiet lines stay where they
  // were put, and a message goes after any that follow its predecessor.
  const msgs = list.querySelectorAll(":scope > li.msg");
  const last = msgs[msgs.length - 1];
  if (!last || compare(last.dataset.id, m.id) < 0) {
    list.append(li);
  } else if (compare(msgs[0].dataset.id, m.id) > 0) {
    list.prepend(li);
  } else {
    let after = last;
    while (after && (!after.classList.contains("msg") || compare(after.dataset.id, m.id) > 0)) {
      after = after.previousElementSibling;
    }
    after.after(li);
  }
  group(li);
  let next = li.nextElementSibling;
  while (next && !next.classList.contains("msg")) next = next.nextElementSibling;
  if (next) group(next);
  showTopSenderSoon();
  if (oldest === null || compare(m.id, oldest) < 0) oldest = m.id;
  if (newest === null || compare(m.id, newest) > 0) {
    newest = m.id;
    hooks.newest(room, m.id);
  }
  hooks.inserted(m);
  return true;
}
