// The chat page's entry module: signing in and out, and opening a room,
// which each part of the page then handles on its own:
//
//   connection.js  the open room's history page and EventSource, resume, reset
//   messages.js    the message list, older pages, scrolling
//   composer.js    the text box and the outbox's lines on their way
//   commands.js    the /commands, one table
//   outbox.js      sends in the order typed, retried, kept over a reload
//   rooms.js       the room list (kinds, direct rooms apart), the room
//                  header, unread counts, the drawer
//   members.js     the members panel of a private room, for its owners
//   presence.js    who is online (a nick starts a direct message), who is typing
//   api.js, errors.js, history.js, limits.js, ids.js, dom.js, session.js:
//                  shared helpers
//
// Rules every module keeps:
//   - Text from the network (nicks, messages, topics, error messages) is put
//     into the page only with textContent, never parsed as markup.
//   - Requests go to this origin only (api.js).
//   - Message ids are opaque strings ("42" or "1700000000000-3"), ordered by
//     ids.js's compare, never by string or float comparison.
//   - History pages are at most the size the server announces (limits.js).
//   - Modules call each other through the functions they export; where a
//     lower one must reach a higher one, app.js wires a hook below.

import { api, onUnauthorized, waitText } from "./api.js";
import * as composer from "./composer.js";
import * as connection from "./connection.js";
import { byId } from "./dom.js";
import * as limits from "./limits.js";
import * as members from "./members.js";
import * as messages from "./messages.js";
import * as presence from "./presence.js";
import * as rooms from "./rooms.js";
import * as session from "./session.js";

const NICK_RE = /^[A-Za-z0-9_.-]{1,32}$/;

const loginView = byId("login-view");
const loginForm = byId("login-form");
const loginNick = byId("login-nick");
const loginPassword = byId("login-password");
const loginError = byId("login-error");
const loginSubmit = byId("login-submit");
const loginHint = byId("login-hint");
const chatView = byId("chat-view");
const meNick = byId("me-nick");
const logout = byId("logout");
const viewLinks = document.querySelectorAll("a.view-link"); // the menu's, and the drawer's on a phone

onUnauthorized(() => sessionEnded());
messages.wire({
  inserted: composer.confirm,
  newest: rooms.markSeen,
  focusComposer: composer.focus,
});
rooms.wire({
  open: openRoom,
  focusComposer: composer.focus,
  changed: () => {
    members.update();
    composer.relabel();
  },
});
connection.wire({
  connected: composer.wake,
  removed: roomLost,
});
presence.wire({
  direct: (nick) =>
    rooms.direct([nick]).catch((e) => composer.showError("Could not open a direct room with " + nick + ": " + e.message)),
});
composer.wire({
  join: rooms.join,
  direct: (nick) => rooms.direct([nick]),
  leave: () => {
    history.pushState(null, "", "#general");
    openRoom("general");
  },
});

// openRoom shows a room: its history and stream, its pending sends, its
// place in the room list.
function openRoom(room) {
  if (!rooms.valid(room)) room = "general";
  connection.close();
  presence.clear();
  messages.show(room);
  composer.setRoom(room);
  rooms.select(room);
  for (const a of viewLinks) a.href = "/view/" + encodeURIComponent(room);
  connection.open(room);
}

// roomLost closes a room the caller lost (the stream said removed) and
// says so with a quiet line in #general.
function roomLost(room, by, deleted) {
  const name = rooms.label(room);
  rooms.drop(room);
  let text;
  if (deleted) text = name + " was deleted" + (by && by !== session.nick() ? " by " + by : "") + ".";
  else if (by && by === session.nick()) text = "You left " + name + ".";
  else if (by) text = by + " removed you from " + name + ".";
  else text = "You are no longer a member of " + name + ".";
  history.pushState(null, "", "#general");
  openRoom("general");
  messages.addNote(text, "removed");
}

// showHint says whether a new nick becomes an account, as the server
// announced it; a server that has not said gets no promise either way.
function showHint() {
  const mode = limits.registration();
  loginHint.textContent =
    mode === "open"
      ? "Sign in. A nick nobody has yet becomes your new account."
      : mode === "closed"
        ? "Sign in with the account this server's operator made for you."
        : "Sign in.";
}

function showLogin(message) {
  showHint();
  chatView.hidden = true;
  loginView.hidden = false;
  loginError.textContent = message || "";
  loginSubmit.disabled = false;
  document.title = "chat";
  (loginNick.value ? loginPassword : loginNick).focus();
}

function startChat(nick) {
  session.setNick(nick);
  session.remember(nick);
  composer.start(nick);
  loginView.hidden = true;
  chatView.hidden = false;
  meNick.textContent = nick;
  rooms.start();
  openRoom(rooms.fromHash() || "general");
  composer.focus();
}

// sessionEnded tears the chat down after a 401 or a logout.
function sessionEnded(message) {
  if (session.nick() === null) return;
  connection.close();
  rooms.stop();
  members.hide();
  presence.clear();
  messages.close();
  composer.clear();
  session.setNick(null);
  session.forget();
  showLogin(message === undefined ? "Your session has ended. Sign in again." : message);
}

loginForm.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const nick = loginNick.value.trim();
  const password = loginPassword.value;
  if (!NICK_RE.test(nick)) {
    loginError.textContent = "A nick is 1 to 32 letters, digits, dots, dashes or underscores.";
    loginNick.focus();
    return;
  }
  if (password.length < 8) {
    loginError.textContent = "The password needs at least 8 characters.";
    loginPassword.focus();
    return;
  }
  loginError.textContent = "";
  loginSubmit.disabled = true;
  let info;
  try {
    info = await api("POST", "/api/session", { nick, password }, { login: true });
  } catch (e) {
    loginSubmit.disabled = false;
    if (e.status === 401) {
      // On a closed server the server's sentence says that an unknown
      // nick is refused too, and whom to ask.
      loginError.textContent = limits.registration() === "open" ? "Wrong nick or password." : e.message;
    } else if (e.status === 429) {
      loginError.textContent = "Too many attempts. Try again in " + waitText(e.retryAfter) + ".";
    } else {
      loginError.textContent = e.message;
    }
    loginPassword.focus();
    return;
  }
  loginPassword.value = "";
  await limits.ready();
  startChat(info.nick);
});

logout.addEventListener("click", async () => {
  logout.disabled = true;
  try {
    await api("DELETE", "/api/session", undefined, { login: true });
  } catch (e) {
    // The cookie is HttpOnly: if the server cannot be told, say so and
    // stay signed in rather than pretend.
    if (e.status !== 401) {
      logout.disabled = false;
      composer.showError("Could not log out: " + e.message);
      return;
    }
  }
  logout.disabled = false;
  sessionEnded("You have logged out.");
});

// boot asks who we are and, at the same time, the server's limits, which
// the first history page needs. A browser that was never signed in here
// shows the form without asking: the question would be answered 401, which
// the browser's console shows as an error on a fresh load.
async function boot() {
  const known = limits.ready();
  known.then(showHint);
  if (!session.maybeSignedIn()) {
    showLogin("");
    return;
  }
  let me;
  try {
    me = await api("GET", "/api/me", undefined, { login: true });
  } catch (e) {
    if (e.status === 401) session.forget();
    showLogin(e.status === 401 ? "" : "The server cannot be reached right now: " + e.message);
    return;
  }
  await known;
  startChat(me.nick);
}

boot();
