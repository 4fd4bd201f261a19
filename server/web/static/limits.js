// The limits the server announces (GET /api/limits before the first
// stream, then the limits field of every welcome), so that the page asks
// for what this server allows instead of assuming it: a history page larger
// than its --history-page-max is answered 400. Until the server has said,
// the page assumes a default server's numbers, as docs/api.md tells
// clients to.

import { api } from "./api.js";

const DEFAULTS = Object.freeze({
  history_page_max: 200,
  history_page_default: 50,
  replay_max: 1000,
  text_max: 4000,
  topic_max: 256,
  message_rate: 5,
  message_burst: 20,
});

// Counts that must be at least 1 to mean anything; the rate and burst may be
// 0 (no limit) and the rate a fraction.
const COUNTS = ["history_page_max", "history_page_default", "replay_max", "text_max", "topic_max"];

let current = DEFAULTS;
let registrationMode = ""; // "open", "closed", or "" until a server says
let announced = false; // current came from this server
let asking = null; // the GET /api/limits in flight

// limits returns the limits in force, a frozen object with the fields of
// GET /api/limits.
export function limits() {
  return current;
}

// update takes limits the server announced. A field that is missing or out
// of range keeps its default, so a malformed answer can never make the page
// ask for pages of 0 or NaN. It reports whether l was usable.
export function update(l) {
  if (!l || typeof l !== "object") return false;
  const next = {};
  for (const [k, d] of Object.entries(DEFAULTS)) {
    const v = l[k];
    const ok = COUNTS.includes(k)
      ? Number.isSafeInteger(v) && v >= 1
      : typeof v === "number" && Number.isFinite(v) && v >= 0;
    next[k] = ok ? v : d;
  }
  current = Object.freeze(next);
  if (l.registration === "open" || l.registration === "closed") registrationMode = l.registration;
  announced = true;
  return true;
}

// ready resolves once this server's limits are known. When asking fails (an
// older server without the endpoint, or none reachable) it resolves all the
// same with the defaults in force, and the next call asks again.
export function ready() {
  if (announced) return Promise.resolve(current);
  return refresh();
}

// refresh asks the server for its limits again, for when an answer suggests
// they changed (a server restarted with other flags). It resolves with the
// limits in force afterwards.
export function refresh() {
  if (!asking) {
    asking = api("GET", "/api/limits", undefined, { login: true })
      .then(update, () => false)
      .then(() => {
        asking = null;
        return current;
      });
  }
  return asking;
}

// registration returns "open" when a login with a new nick makes the
// account, "closed" when only the server's operator makes accounts, and ""
// when the server has not said (an older one): the login form promises a
// new account only when it is open.
export function registration() {
  return registrationMode;
}

// pageSize returns want, or the server's largest history page if that is
// smaller.
export function pageSize(want) {
  return Math.max(1, Math.min(want, current.history_page_max));
}
