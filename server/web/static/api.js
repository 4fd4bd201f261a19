// The page's one way to call the server's JSON API.
//
// Requests go to this origin with the session cookie (credentials:
// 'same-origin'); the browser adds Origin to unsafe ones, which the server
// checks. Errors come back as APIError with the server's code and message.

export class APIError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status; // 0: the server could not be reached
    this.code = code;
    this.retryAfter = retryAfter; // seconds, 0 when not given
  }
}

// unauthorized is called when a request answers 401 and its caller did not
// say it handles that itself: app.js ends the session there.
let unauthorized = () => {};

export function onUnauthorized(fn) {
  unauthorized = fn;
}

function parseRetryAfter(v) {
  if (!v) return 0;
  if (/^\d+$/.test(v.trim())) return parseInt(v, 10);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return 0;
  return Math.max(0, Math.ceil((t - Date.now()) / 1000));
}

// api sends one request and returns the decoded JSON answer (null for an
// empty one). It throws APIError. A 401 ends the session unless opts.login
// says the caller handles it (signing in, signing out, asking who we are).
export async function api(method, path, body, opts = {}) {
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
    if (res.status === 401 && !opts.login) unauthorized();
    throw err;
  }
  return data;
}

export const roomPath = (room) => "/api/rooms/" + encodeURIComponent(room);

// waitText says how long a Retry-After of secs seconds is, for a sentence
// such as "Try again in 3 seconds."
export function waitText(secs) {
  if (!secs || secs <= 1) return "a second";
  if (secs < 90) return secs + " seconds";
  return Math.ceil(secs / 60) + " minutes";
}
