// Why the server refused something, in words for the person at the page.
// The server's error bodies carry a message meant for people, but a few are
// written for programs calling the API ("create it with PUT ...", "send
// Authorization: Bearer ..."): for those codes the page says it its own
// way. Anything else is the server's own sentence.

const WORDS = {
  room_not_found: "This room no longer exists.",
  unauthorized: "You are signed out; sign in again to send it.",
  cross_origin: "The server refused it as coming from another site. Reload the page and try again.",
  body_too_large: "The message is too long for this server.",
  unsupported_media_type: "The server did not accept the page's request. Reload the page and try again.",
  bad_json: "The server could not read the page's request. Reload the page and try again.",
  unknown_field: "This server is older than the page. Reload the page and try again.",
  not_found: "This server does not know that request. Reload the page and try again.",
  method_not_allowed: "This server does not know that request. Reload the page and try again.",
};

// humanError returns one sentence saying why the request e (an APIError)
// failed.
export function humanError(e) {
  if (!e || e.status === 0) return "The server cannot be reached.";
  if (typeof e.code === "string" && WORDS[e.code]) return WORDS[e.code];
  if (e.message && !/^The server answered \d+\.$/.test(e.message)) return e.message;
  if (e.status === 403) return "The server does not allow this.";
  if (e.status === 404) return "The server does not know this room.";
  if (e.status === 413) return "The message is too long for this server.";
  return "The server refused it.";
}
