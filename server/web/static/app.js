// The chat page: fetch for requests, one EventSource for the open room.
//
// Rules this file keeps:
//   - Text from the network (nicks, messages, topics, error messages) is put
//     into the page only with textContent, never parsed as markup.
//   - Requests go to this origin with the session cookie (credentials:
//     'same-origin'); the browser adds Origin to unsafe ones, which the
//     server checks.
//   - Message ids are opaque strings ("42" or "1700000000000-3"), ordered by
//     compareIDs, never by string or float comparison.
"use strict";

(() => {
  const ROOM_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
  const NICK_RE = /^[A-Za-z0-9_.-]{1,32}$/;
  const PAGE_SIZE = 50;
  const UNREAD_PAGE = 100;
  const ROOM_POLL_MS = 5000;
  const TYPING_SEND_MS = 3000;
  const TYPING_SHOW_MS = 5000;
  const NEAR_BOTTOM_PX = 40;
  const NEAR_TOP_PX = 80;
  const GROUP_MS = 5 * 60 * 1000;

  const $ = (id) => document.getElementById(id);
  const el = {
    loginView: $("login-view"),
    loginForm: $("login-form"),
    loginNick: $("login-nick"),
    loginPassword: $("login-password"),
    loginError: $("login-error"),
    loginSubmit: $("login-submit"),
    chatView: $("chat-view"),
    roomsToggle: $("rooms-toggle"),
    roomsToggleUnread: $("rooms-toggle-unread"),
    roomName: $("room-name"),
    roomTopic: $("room-topic"),
    conn: $("conn-state"),
    meNick: $("me-nick"),
    logout: $("logout"),
    sidebar: $("sidebar"),
    roomList: $("room-list"),
    createForm: $("create-room-form"),
    createName: $("create-room-name"),
    createError: $("create-room-error"),
    presence: $("presence-list"),
    scroller: $("scroller"),
    historyState: $("history-state"),
    messages: $("messages"),
    pending: $("pending"),
    newMessages: $("new-messages"),
    typing: $("typing"),
    composer: $("composer"),
    input: $("composer-input"),
    composerError: $("composer-error"),
  };

  const state = {
    me: null, // our nick once signed in
    room: null, // the open room
    gen: 0, // bumped when the open room's view is rebuilt; stale async work checks it
    es: null, // the open room's EventSource
    esFailures: 0,
    esTimer: 0,
    connectedOnce: false,
    ids: new Set(), // ids of the messages shown
    oldest: null,
    newest: null,
    hasMore: false,
    loadingOlder: false,
    pending: new Map(), // client_id -> pending send
    online: [],
    typers: new Map(), // nick -> timer
    lastTypingSent: 0,
    rooms: new Map(), // name -> {topic, online, lastID, unread, more, countedFor}
    seen: {}, // room -> newest id the user has had on screen ("" for none)
    pollTimer: 0,
    roomsLoaded: false, // the room list has been read once since sign-in
  };

  // ---- ids -------------------------------------------------------------

  const parseID = ChatIDs.parse;
  const compareIDs = ChatIDs.compare;

  // newClientID returns 22 random characters of [A-Za-z0-9_-]: 128 bits
  // from the browser's CSPRNG, so a retry can reuse it and the server can
  // tell a repeat from a new message.
  function newClientID() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    let s = "";
    for (const x of b) s += String.fromCharCode(x);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // ---- HTTP ------------------------------------------------------------

  class APIError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter; // seconds, 0 when not given
    }
  }

  function parseRetryAfter(v) {
    if (!v) return 0;
    if (/^\d+$/.test(v.trim())) return parseInt(v, 10);
    const t = Date.parse(v);
    if (Number.isNaN(t)) return 0;
    return Math.max(0, Math.ceil((t - Date.now()) / 1000));
  }

  // api sends one request and returns the decoded JSON answer (null for an
  // empty one). It throws APIError; status 0 means the server could not be
  // reached. A 401 ends the session unless opts.login says the caller
  // handles it.
  async function api(method, path, body, opts = {}) {
    const init = {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    let text = "";
    try {
      res = await fetch(path, init);
      text = await res.text();
    } catch (e) {
      throw new APIError(0, "network", "The server cannot be reached.", 0);
    }
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (e) {
        data = null;
      }
    }
    if (!res.ok) {
      const detail = (data && data.error) || {};
      const err = new APIError(
        res.status,
        typeof detail.code === "string" ? detail.code : "http_" + res.status,
        typeof detail.message === "string" && detail.message
          ? detail.message
          : "The server answered " + res.status + ".",
        parseRetryAfter(res.headers.get("Retry-After")),
      );
      if (res.status === 401 && !opts.login) sessionEnded();
      throw err;
    }
    return data;
  }

  const roomPath = (room) => "/api/rooms/" + encodeURIComponent(room);

  // ---- views -----------------------------------------------------------

  function showLogin(message) {
    el.chatView.hidden = true;
    el.loginView.hidden = false;
    el.loginError.textContent = message || "";
    el.loginSubmit.disabled = false;
    document.title = "chat";
    (el.loginNick.value ? el.loginPassword : el.loginNick).focus();
  }

  function showChat() {
    el.loginView.hidden = true;
    el.chatView.hidden = false;
    el.meNick.textContent = state.me;
  }

  // sessionEnded tears the chat down after a 401 or a logout.
  function sessionEnded(message) {
    if (state.me === null) return;
    teardown();
    showLogin(message === undefined ? "Your session has ended. Sign in again." : message);
  }

  function teardown() {
    closeStream();
    clearTimeout(state.pollTimer);
    for (const t of state.typers.values()) clearTimeout(t);
    state.typers.clear();
    state.gen++;
    state.me = null;
    state.room = null;
    state.pending.clear();
    state.rooms.clear();
    state.seen = {};
    state.connectedOnce = false;
    state.roomsLoaded = false;
    clearMessages();
    el.pending.replaceChildren();
    el.roomList.replaceChildren();
    el.presence.replaceChildren();
    el.typing.textContent = "";
    el.composerError.textContent = "";
    el.input.value = "";
  }

  // ---- login -----------------------------------------------------------

  el.loginForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const nick = el.loginNick.value.trim();
    const password = el.loginPassword.value;
    if (!NICK_RE.test(nick)) {
      el.loginError.textContent =
        "A nick is 1 to 32 letters, digits, dots, dashes or underscores.";
      el.loginNick.focus();
      return;
    }
    if (password.length < 8) {
      el.loginError.textContent = "The password needs at least 8 characters.";
      el.loginPassword.focus();
      return;
    }
    el.loginError.textContent = "";
    el.loginSubmit.disabled = true;
    try {
      const info = await api("POST", "/api/session", { nick, password }, { login: true });
      el.loginPassword.value = "";
      startChat(info.nick);
    } catch (e) {
      el.loginSubmit.disabled = false;
      if (e.status === 401) {
        el.loginError.textContent = "Wrong nick or password.";
      } else if (e.status === 429) {
        el.loginError.textContent =
          "Too many attempts. Try again in " + waitText(e.retryAfter) + ".";
      } else {
        el.loginError.textContent = e.message;
      }
      el.loginPassword.focus();
    }
  });

  el.logout.addEventListener("click", async () => {
    el.logout.disabled = true;
    try {
      await api("DELETE", "/api/session", undefined, { login: true });
    } catch (e) {
      // The cookie is HttpOnly: if the server cannot be told, say so and
      // stay signed in rather than pretend.
      if (e.status !== 401) {
        el.logout.disabled = false;
        el.composerError.textContent = "Could not log out: " + e.message;
        return;
      }
    }
    el.logout.disabled = false;
    sessionEnded("You have logged out.");
  });

  function startChat(nick) {
    state.me = nick;
    try {
      state.seen = JSON.parse(localStorage.getItem("seen:" + nick) || "{}") || {};
    } catch (e) {
      state.seen = {};
    }
    showChat();
    refreshRooms();
    openRoom(roomFromHash() || "general");
    el.input.focus();
  }

  function saveSeen() {
    if (!state.me) return;
    try {
      localStorage.setItem("seen:" + state.me, JSON.stringify(state.seen));
    } catch (e) {
      // Storage full or disabled: unread counts restart from now next time.
    }
  }

  // ---- rooms -----------------------------------------------------------

  function roomFromHash() {
    let r = "";
    try {
      r = decodeURIComponent(location.hash.slice(1));
    } catch (e) {
      return "";
    }
    return ROOM_RE.test(r) ? r : "";
  }

  window.addEventListener("hashchange", () => {
    if (!state.me) return;
    const r = roomFromHash();
    if (r && r !== state.room) openRoom(r);
  });

  // refreshRooms reloads the room list and counts unread messages in the
  // rooms that are not open. It runs every ROOM_POLL_MS while signed in.
  async function refreshRooms() {
    clearTimeout(state.pollTimer);
    const me = state.me;
    try {
      const data = await api("GET", "/api/rooms");
      if (state.me !== me) return;
      const names = new Set();
      for (const r of (data && data.rooms) || []) {
        if (typeof r.name !== "string") continue;
        names.add(r.name);
        const entry = state.rooms.get(r.name) || { unread: 0, more: false, countedFor: null };
        entry.topic = typeof r.topic === "string" ? r.topic : "";
        entry.online = r.online | 0;
        entry.lastID = typeof r.last_id === "string" ? r.last_id : null;
        state.rooms.set(r.name, entry);
        if (r.name === state.room) continue;
        const seen = state.seen[r.name];
        if (seen === undefined && !state.roomsLoaded) {
          // A room that existed before this sign-in and was never opened
          // here starts with nothing unread, not its whole history.
          state.seen[r.name] = entry.lastID || "";
          entry.unread = 0;
        } else if (seen === undefined) {
          // A room made since: all of it is new to us.
          state.seen[r.name] = "";
          if (entry.lastID) countUnread(r.name, "", entry.lastID);
        } else if (
          entry.lastID &&
          entry.lastID !== entry.countedFor &&
          (seen === "" || compareIDs(entry.lastID, seen) > 0)
        ) {
          countUnread(r.name, seen, entry.lastID);
        } else if (!entry.lastID || (seen !== "" && compareIDs(entry.lastID, seen) <= 0)) {
          entry.unread = 0;
          entry.more = false;
        }
      }
      for (const name of [...state.rooms.keys()]) {
        if (!names.has(name)) state.rooms.delete(name);
      }
      state.roomsLoaded = true;
      saveSeen();
      renderRooms();
      renderRoomHeader();
    } catch (e) {
      // A failed poll changes nothing; the next one tries again.
    } finally {
      if (state.me === me && me !== null) {
        clearTimeout(state.pollTimer);
        state.pollTimer = setTimeout(refreshRooms, ROOM_POLL_MS);
      }
    }
  }

  async function countUnread(room, seen, lastID) {
    const q = seen ? "?after=" + encodeURIComponent(seen) + "&limit=" + UNREAD_PAGE : "?limit=" + UNREAD_PAGE;
    try {
      const page = await api("GET", roomPath(room) + "/messages" + q);
      const entry = state.rooms.get(room);
      if (!entry || room === state.room) return;
      const msgs = (page && page.messages) || [];
      entry.unread = msgs.filter((m) => m.nick !== state.me).length;
      entry.more = !!page.has_more && entry.unread > 0;
      entry.countedFor = lastID;
      renderRooms();
    } catch (e) {
      // Counted again at the next poll.
    }
  }

  function renderRooms() {
    const names = [...state.rooms.keys()].sort((a, b) =>
      a === "general" ? -1 : b === "general" ? 1 : a < b ? -1 : a > b ? 1 : 0,
    );
    if (state.room && !state.rooms.has(state.room)) names.push(state.room);
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.room
      : undefined;
    const items = [];
    let total = 0;
    for (const name of names) {
      const entry = state.rooms.get(name) || { unread: 0 };
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "#" + encodeURIComponent(name);
      a.dataset.room = name;
      const label = document.createElement("span");
      label.className = "name";
      label.textContent = "#" + name;
      a.append(label);
      const unread = name === state.room ? 0 : entry.unread || 0;
      if (unread > 0) {
        total += unread;
        a.classList.add("unread");
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = entry.more ? unread + "+" : String(unread);
        const sr = document.createElement("span");
        sr.className = "visually-hidden";
        sr.textContent = " unread";
        badge.append(sr);
        a.append(badge);
      }
      if (name === state.room) a.setAttribute("aria-current", "page");
      li.append(a);
      items.push(li);
    }
    el.roomList.replaceChildren(...items);
    if (focused) {
      const again = el.roomList.querySelector('a[data-room="' + CSS.escape(focused) + '"]');
      if (again) again.focus();
    }
    el.roomsToggleUnread.hidden = total === 0;
    el.roomsToggleUnread.textContent = String(total);
    document.title = (total > 0 ? "(" + total + ") " : "") + (state.room ? "#" + state.room + " · " : "") + "chat";
  }

  function renderRoomHeader() {
    el.roomName.textContent = state.room ? "#" + state.room : "";
    el.input.placeholder = state.room ? "Message #" + state.room : "Message";
    const entry = state.rooms.get(state.room);
    el.roomTopic.textContent = entry && entry.topic ? entry.topic : "";
    el.roomTopic.title = el.roomTopic.textContent; // the whole topic where it is cut short
  }

  el.roomList.addEventListener("click", (ev) => {
    const a = ev.target.closest("a[data-room]");
    if (!a) return;
    ev.preventDefault();
    const room = a.dataset.room;
    if (location.hash !== "#" + room) history.pushState(null, "", "#" + room);
    openRoom(room);
    if (el.sidebar.classList.contains("open")) {
      closeDrawer();
      el.input.focus();
    }
  });

  el.createForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const room = el.createName.value.trim().toLowerCase();
    if (!ROOM_RE.test(room)) {
      el.createError.textContent =
        "A room name is 1 to 64 lower-case letters, digits, - or _, starting with a letter or digit.";
      el.createName.focus();
      return;
    }
    el.createError.textContent = "";
    try {
      await api("PUT", roomPath(room));
      el.createName.value = "";
      if (!state.rooms.has(room)) {
        state.rooms.set(room, { topic: "", online: 0, lastID: null, unread: 0, more: false, countedFor: null });
      }
      history.pushState(null, "", "#" + room);
      openRoom(room);
      refreshRooms();
      closeDrawer();
      el.input.focus();
    } catch (e) {
      el.createError.textContent =
        e.status === 429 ? "Too many requests. Try again in " + waitText(e.retryAfter) + "." : e.message;
    }
  });

  // ---- the drawer (narrow screens) -------------------------------------

  function closeDrawer() {
    el.sidebar.classList.remove("open");
    el.roomsToggle.setAttribute("aria-expanded", "false");
  }

  el.roomsToggle.addEventListener("click", () => {
    const open = !el.sidebar.classList.contains("open");
    el.sidebar.classList.toggle("open", open);
    el.roomsToggle.setAttribute("aria-expanded", String(open));
    if (open) {
      const first = el.roomList.querySelector('a[aria-current="page"]') || el.roomList.querySelector("a");
      if (first) first.focus();
    }
  });

  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && el.sidebar.classList.contains("open")) {
      closeDrawer();
      el.roomsToggle.focus();
    }
  });

  // ---- the open room ---------------------------------------------------

  function clearMessages() {
    state.ids.clear();
    state.oldest = null;
    state.newest = null;
    state.hasMore = false;
    state.loadingOlder = false;
    el.messages.replaceChildren();
    el.historyState.textContent = "";
    el.newMessages.hidden = true;
  }

  // openRoom shows a room: newest history page first, then the stream
  // from the newest id loaded.
  function openRoom(room) {
    if (!ROOM_RE.test(room)) room = "general";
    if (state.room && state.newest) state.seen[state.room] = state.newest;
    closeStream();
    state.gen++;
    state.room = room;
    state.connectedOnce = false;
    state.esFailures = 0;
    setConn("connecting", "Connecting…");
    for (const t of state.typers.values()) clearTimeout(t);
    state.typers.clear();
    renderTyping();
    state.online = [];
    renderPresence();
    clearMessages();
    renderPendingList();
    const entry = state.rooms.get(room);
    if (entry) {
      entry.unread = 0;
      entry.more = false;
    }
    renderRooms();
    renderRoomHeader();
    loadNewest();
  }

  async function loadNewest() {
    const gen = state.gen;
    const room = state.room;
    el.historyState.textContent = "Loading…";
    el.messages.setAttribute("aria-busy", "true");
    let page;
    try {
      page = await api("GET", roomPath(room) + "/messages?limit=" + PAGE_SIZE);
    } catch (e) {
      if (gen !== state.gen) return;
      el.messages.removeAttribute("aria-busy");
      if (e.status === 404) {
        el.historyState.textContent = "There is no room #" + room + ".";
        setConn("offline", "Not connected");
        return;
      }
      if (e.status === 401) return;
      el.historyState.textContent = "Could not load messages: " + e.message + " Retrying…";
      setConn("offline", "Offline");
      state.esTimer = setTimeout(() => {
        if (gen === state.gen) loadNewest();
      }, backoff(state.esFailures++));
      return;
    }
    if (gen !== state.gen) return;
    el.messages.removeAttribute("aria-busy");
    clearMessages();
    const msgs = (page && page.messages) || [];
    for (const m of msgs) insertMessage(m);
    state.hasMore = !!(page && page.has_more);
    updateHistoryState();
    scrollToBottom();
    connect();
    fillViewport();
  }

  // fillViewport loads older pages until the list can scroll, so that
  // scrolling to the top is possible at all.
  function fillViewport() {
    const s = el.scroller;
    if (state.hasMore && !state.loadingOlder && s.scrollHeight <= s.clientHeight + NEAR_TOP_PX) {
      loadOlder();
    }
  }

  async function loadOlder() {
    if (!state.hasMore || state.loadingOlder || !state.oldest) return;
    state.loadingOlder = true;
    const gen = state.gen;
    el.historyState.textContent = "Loading older messages…";
    let page;
    try {
      page = await api(
        "GET",
        roomPath(state.room) + "/messages?before=" + encodeURIComponent(state.oldest) + "&limit=" + PAGE_SIZE,
      );
    } catch (e) {
      if (gen === state.gen) {
        state.loadingOlder = false;
        el.historyState.textContent = "Could not load older messages: " + e.message;
      }
      return;
    }
    if (gen !== state.gen) return;
    const s = el.scroller;
    const fromBottom = s.scrollHeight - s.scrollTop;
    el.messages.setAttribute("aria-busy", "true");
    const msgs = (page && page.messages) || [];
    for (let i = msgs.length - 1; i >= 0; i--) insertMessage(msgs[i]);
    el.messages.removeAttribute("aria-busy");
    state.hasMore = !!page.has_more && msgs.length > 0;
    s.scrollTop = s.scrollHeight - fromBottom; // keep what the reader was looking at in place
    state.loadingOlder = false;
    updateHistoryState();
    fillViewport();
  }

  function updateHistoryState() {
    if (state.hasMore) {
      el.historyState.textContent = "";
    } else {
      el.historyState.textContent = state.ids.size
        ? "This is the beginning of #" + state.room + "."
        : "No messages in #" + state.room + " yet.";
    }
  }

  function atBottom() {
    const s = el.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight <= NEAR_BOTTOM_PX;
  }

  function scrollToBottom() {
    el.scroller.scrollTop = el.scroller.scrollHeight;
    el.newMessages.hidden = true;
  }

  el.scroller.addEventListener("scroll", () => {
    if (el.scroller.scrollTop <= NEAR_TOP_PX) loadOlder();
    if (atBottom()) el.newMessages.hidden = true;
  }, { passive: true });

  el.newMessages.addEventListener("click", () => {
    scrollToBottom();
    el.input.focus();
  });

  // Keep the bottom in view when the layout changes size (keyboard opening
  // on a phone, window resize) if the reader was at the bottom.
  let wasAtBottom = true;
  el.scroller.addEventListener("scroll", () => {
    wasAtBottom = atBottom();
  }, { passive: true });
  new ResizeObserver(() => {
    if (wasAtBottom) el.scroller.scrollTop = el.scroller.scrollHeight;
  }).observe(el.scroller);

  function formatTime(ts) {
    const d = new Date(ts);
    if (Number.isNaN(d.getTime())) return ["", ""];
    const now = new Date();
    const time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    const sameDay = d.toDateString() === now.toDateString();
    return [sameDay ? time : d.toLocaleDateString() + " " + time, d.toLocaleString()];
  }

  // messageElement builds one message's list item. Every piece of text from
  // the server goes in through textContent.
  function messageElement(m, pending) {
    const li = document.createElement("li");
    li.className = "msg";
    if (m.nick === state.me) li.classList.add("mine");
    if (m.kind === "action") li.classList.add("action");
    const meta = document.createElement("div");
    meta.className = "meta";
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = m.nick;
    meta.append(author);
    if (pending) {
      const status = document.createElement("span");
      status.className = "status";
      meta.append(status);
    } else {
      const t = document.createElement("time");
      const [shown, full] = formatTime(m.ts);
      t.dateTime = typeof m.ts === "string" ? m.ts : "";
      t.textContent = shown;
      t.title = full;
      meta.append(t);
    }
    const text = document.createElement("p");
    text.className = "text";
    if (m.kind === "action") {
      // "* nick text": the nick and the text are separate isolated runs
      // (style.css), so a bidi control in the text cannot move the nick.
      const who = document.createElement("span");
      who.className = "nick";
      who.textContent = m.nick;
      const body = document.createElement("span");
      body.className = "body";
      body.textContent = m.text;
      text.append("* ", who, " ", body);
    } else {
      text.textContent = m.text;
    }
    li.append(meta, text);
    return li;
  }

  // group marks a message that follows one by the same nick within a few
  // minutes, so the page can leave out the repeated name (it stays in the
  // text for screen readers).
  function group(li) {
    const prev = li.previousElementSibling;
    const cont =
      !!prev &&
      prev.dataset.nick === li.dataset.nick &&
      !li.classList.contains("action") &&
      !prev.classList.contains("action") &&
      Math.abs(Number(li.dataset.t) - Number(prev.dataset.t)) < GROUP_MS;
    li.classList.toggle("cont", cont);
  }

  function validMessage(m) {
    return (
      m &&
      typeof m.id === "string" &&
      parseID(m.id) !== null &&
      typeof m.nick === "string" &&
      typeof m.text === "string"
    );
  }

  // insertMessage shows a message of the open room in id order, once.
  // It returns true when the message was new.
  function insertMessage(m) {
    if (!validMessage(m) || state.ids.has(m.id)) return false;
    if (m.room !== undefined && m.room !== state.room) return false;
    state.ids.add(m.id);
    const li = messageElement(m, false);
    li.dataset.id = m.id;
    li.dataset.nick = m.nick;
    li.dataset.t = String(Date.parse(m.ts) || 0);
    if (m.client_id) li.dataset.clientId = m.client_id;
    const list = el.messages;
    const last = list.lastElementChild;
    if (!last || compareIDs(last.dataset.id, m.id) < 0) {
      list.append(li);
    } else if (compareIDs(list.firstElementChild.dataset.id, m.id) > 0) {
      list.prepend(li);
    } else {
      let after = last;
      while (after && compareIDs(after.dataset.id, m.id) > 0) after = after.previousElementSibling;
      after.after(li);
    }
    group(li);
    if (li.nextElementSibling) group(li.nextElementSibling);
    if (state.oldest === null || compareIDs(m.id, state.oldest) < 0) state.oldest = m.id;
    if (state.newest === null || compareIDs(m.id, state.newest) > 0) {
      state.newest = m.id;
      state.seen[state.room] = m.id;
    }
    if (m.nick === state.me && m.client_id && state.pending.has(m.client_id)) {
      dropPending(state.pending.get(m.client_id));
    }
    return true;
  }

  // ---- the stream ------------------------------------------------------

  function backoff(n) {
    const base = Math.min(30000, 1000 * 2 ** Math.min(n, 5));
    return base / 2 + Math.random() * (base / 2);
  }

  function setConn(s, text) {
    el.conn.dataset.state = s;
    el.conn.textContent = text;
  }

  function closeStream() {
    clearTimeout(state.esTimer);
    state.esTimer = 0;
    if (state.es) {
      state.es.close();
      state.es = null;
    }
  }

  function parseData(ev) {
    try {
      return JSON.parse(ev.data);
    } catch (e) {
      return null;
    }
  }

  // connect opens the room's stream from the newest message shown. Once
  // open, the browser reconnects by itself with Last-Event-ID (which the
  // server prefers to the query parameter); when it gives up (an HTTP error
  // instead of a stream) we check why and start a new one.
  function connect() {
    closeStream();
    const gen = state.gen;
    let url = roomPath(state.room) + "/events";
    const from = state.newest;
    if (from) url += "?last_event_id=" + encodeURIComponent(from);
    setConn("connecting", state.connectedOnce ? "Reconnecting…" : "Connecting…");
    const es = new EventSource(url);
    state.es = es;
    const live = () => es === state.es && gen === state.gen;

    es.addEventListener("welcome", (ev) => {
      if (!live()) return;
      const w = parseData(ev);
      if (!w) return;
      state.esFailures = 0;
      state.connectedOnce = true;
      setConn("connected", "Connected");
      state.online = Array.isArray(w.online) ? w.online.filter((n) => typeof n === "string") : [];
      renderPresence();
      // Without a resume point the stream carries only live messages: fetch
      // whatever arrived between our history request and the subscription.
      if (!from && typeof w.last_id === "string") catchUp(gen, w.last_id);
    });

    es.addEventListener("message", (ev) => {
      if (!live()) return;
      const m = parseData(ev);
      if (!validMessage(m)) return;
      const stick = atBottom();
      const mine = m.nick === state.me;
      const first = state.ids.size === 0;
      if (insertMessage(m)) {
        if (first) updateHistoryState();
        if (stick || mine) scrollToBottom();
        else el.newMessages.hidden = false;
        clearTyper(m.nick);
        saveSeenSoon();
      }
    });

    es.addEventListener("presence", (ev) => {
      if (!live()) return;
      const p = parseData(ev);
      if (!p || !Array.isArray(p.online)) return;
      state.online = p.online.filter((n) => typeof n === "string");
      renderPresence();
      if (p.state === "leave" && typeof p.nick === "string") clearTyper(p.nick);
    });

    es.addEventListener("typing", (ev) => {
      if (!live()) return;
      const t = parseData(ev);
      if (!t || typeof t.nick !== "string" || t.nick === state.me) return;
      clearTimeout(state.typers.get(t.nick));
      state.typers.set(t.nick, setTimeout(() => clearTyper(t.nick), TYPING_SHOW_MS));
      renderTyping();
    });

    // room: someone changed the topic (an extension of the protocol; see
    // docs/api.md). The header shows it at once, as text.
    es.addEventListener("room", (ev) => {
      if (!live()) return;
      const r = parseData(ev);
      if (!r || r.room !== state.room || typeof r.topic !== "string") return;
      const entry = state.rooms.get(r.room);
      if (entry) entry.topic = r.topic;
      renderRoomHeader();
    });

    es.addEventListener("reset", () => {
      if (!live()) return;
      // The resume point is gone: start over from the newest page. Pending
      // sends stay; the reload drops the ones that were stored.
      closeStream();
      state.gen++;
      clearMessages();
      loadNewest();
    });

    es.addEventListener("error", () => {
      if (!live()) return;
      if (es.readyState === EventSource.CLOSED) {
        setConn("offline", "Offline, retrying…");
        es.close();
        state.es = null;
        scheduleReconnect(gen);
      } else {
        setConn("connecting", "Reconnecting…");
      }
    });
  }

  // scheduleReconnect waits, asks the server why the stream was refused
  // (EventSource does not say), and reconnects unless the session or room
  // is gone.
  function scheduleReconnect(gen) {
    const wait = backoff(state.esFailures++);
    const secs = Math.max(1, Math.round(wait / 1000));
    setConn("offline", "Offline, retrying in " + secs + " s");
    clearTimeout(state.esTimer);
    state.esTimer = setTimeout(async () => {
      if (gen !== state.gen) return;
      try {
        await api("GET", roomPath(state.room) + "/members");
      } catch (e) {
        if (gen !== state.gen || e.status === 401) return;
        if (e.status === 404) {
          setConn("offline", "Not connected");
          el.historyState.textContent = "The room #" + state.room + " no longer exists.";
          return;
        }
        if (e.status !== 429) {
          scheduleReconnect(gen);
          return;
        }
      }
      if (gen === state.gen) connect();
    }, wait);
  }

  async function catchUp(gen, lastID) {
    try {
      const page = await api("GET", roomPath(state.room) + "/messages?limit=200");
      if (gen !== state.gen) return;
      const stick = atBottom();
      let added = false;
      for (const m of (page && page.messages) || []) {
        if (validMessage(m) && compareIDs(m.id, lastID) <= 0 && insertMessage(m)) added = true;
      }
      if (added) {
        state.hasMore = state.hasMore || !!page.has_more;
        updateHistoryState();
        if (stick) scrollToBottom();
        else el.newMessages.hidden = false;
      }
    } catch (e) {
      // The next reset or reload shows them.
    }
  }

  let seenTimer = 0;
  function saveSeenSoon() {
    clearTimeout(seenTimer);
    seenTimer = setTimeout(saveSeen, 1000);
  }

  function renderPresence() {
    const names = [...new Set(state.online)].sort((a, b) => a.localeCompare(b));
    el.presence.replaceChildren(
      ...names.map((n) => {
        const li = document.createElement("li");
        li.textContent = n === state.me ? n + " (you)" : n;
        return li;
      }),
    );
    const entry = state.rooms.get(state.room);
    if (entry) entry.online = names.length;
  }

  function clearTyper(nick) {
    if (!state.typers.has(nick)) return;
    clearTimeout(state.typers.get(nick));
    state.typers.delete(nick);
    renderTyping();
  }

  function renderTyping() {
    const n = [...state.typers.keys()];
    let s = "";
    if (n.length === 1) s = n[0] + " is typing…";
    else if (n.length === 2) s = n[0] + " and " + n[1] + " are typing…";
    else if (n.length > 2) s = "Several people are typing…";
    el.typing.textContent = s;
  }

  // ---- sending ---------------------------------------------------------

  function waitText(secs) {
    if (!secs || secs <= 1) return "a second";
    if (secs < 90) return secs + " seconds";
    return Math.ceil(secs / 60) + " minutes";
  }

  el.input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      el.composer.requestSubmit();
    }
  });

  // A browser that still delivers the Enter keypress after the keydown was
  // cancelled (synthetic input does) must not leave a newline behind.
  el.input.addEventListener("keypress", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) ev.preventDefault();
  });

  el.input.addEventListener("input", () => {
    autosize();
    el.composerError.textContent = "";
    const now = Date.now();
    if (el.input.value.trim() && state.es && now - state.lastTypingSent > TYPING_SEND_MS) {
      state.lastTypingSent = now;
      api("POST", roomPath(state.room) + "/typing").catch(() => {});
    }
  });

  // autosize grows the composer with its text (up to the CSS max-height);
  // empty, it goes back to one row.
  function autosize() {
    el.input.style.height = "";
    if (el.input.value) el.input.style.height = el.input.scrollHeight + 2 + "px";
  }

  el.composer.addEventListener("submit", (ev) => {
    ev.preventDefault();
    let text = el.input.value;
    if (!text.trim()) return;
    const topic = /^\/topic(?:\s+([\s\S]*))?$/.exec(text.trim());
    if (topic) {
      setTopic(state.room, (topic[1] || "").trim());
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
    if ([...text.trim()].length > 4000) {
      el.composerError.textContent = "A message can hold at most 4000 characters.";
      return;
    }
    el.input.value = "";
    autosize();
    state.lastTypingSent = 0;
    const p = { cid: newClientID(), room: state.room, text, kind, status: "pending", el: null };
    state.pending.set(p.cid, p);
    renderPending(p);
    scrollToBottom();
    post(p);
  });

  // setTopic sets the room's topic with "/topic TEXT" ("/topic" alone
  // clears it). The others' pages get it from their streams' room event.
  async function setTopic(room, topic) {
    if ([...topic].length > 256) {
      el.composerError.textContent = "A topic can hold at most 256 characters.";
      return;
    }
    try {
      await api("PUT", roomPath(room), { topic });
      el.input.value = "";
      autosize();
      const entry = state.rooms.get(room);
      if (entry) entry.topic = topic;
      if (room === state.room) renderRoomHeader();
    } catch (e) {
      el.composerError.textContent = "Could not set the topic: " + e.message;
    }
  }

  // post sends a pending message. A retry reuses its client_id, so a
  // message whose answer was lost is not stored twice.
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
      if (!state.pending.has(p.cid)) return; // the echo came first
      p.status = "sent";
      renderPending(p);
      if (m && p.room === state.room && state.ids.has(m.id)) dropPending(p);
    } catch (e) {
      if (!state.pending.has(p.cid)) return;
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

  function dropPending(p) {
    state.pending.delete(p.cid);
    clearInterval(p.timer);
    if (p.el) p.el.remove();
  }

  function renderPendingList() {
    el.pending.replaceChildren();
    for (const p of state.pending.values()) {
      p.el = null;
      if (p.room === state.room) renderPending(p);
    }
  }

  // renderPending draws a pending send: greyed while on its way, with the
  // reason and Retry / Discard buttons when it failed.
  function renderPending(p) {
    if (p.room !== state.room) return;
    if (!p.el) {
      p.el = messageElement({ nick: state.me, kind: p.kind, text: p.text }, true);
      p.el.dataset.clientId = p.cid;
      el.pending.append(p.el);
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
      actions = document.createElement("div");
      actions.className = "actions";
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "retry";
      retry.textContent = "Retry";
      retry.addEventListener("click", () => post(p));
      const discard = document.createElement("button");
      discard.type = "button";
      discard.className = "discard";
      discard.textContent = "Discard";
      discard.addEventListener("click", () => {
        dropPending(p);
        el.input.focus();
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

  // ---- start -----------------------------------------------------------

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.me) refreshRooms();
  });

  async function boot() {
    try {
      const me = await api("GET", "/api/me", undefined, { login: true });
      startChat(me.nick);
    } catch (e) {
      if (e.status === 401) {
        showLogin("");
      } else {
        showLogin("The server cannot be reached right now: " + e.message);
      }
    }
  }

  boot();
})();
