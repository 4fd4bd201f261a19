// Reading pages of a room's history (GET /api/rooms/{room}/messages), the
// one place that sizes them: every page asked for is at most the server's
// announced history_page_max.

import { api, roomPath } from "./api.js";
import { pageSize, refresh } from "./limits.js";

// fetchPage reads one page of room's history: the newest messages, or with
// where.before / where.after those before or after that id. It asks for
// want messages, or the server's largest page if that is smaller, and
// returns {messages (oldest first), hasMore}. A 400 can mean the server
// restarted with a smaller page: the limits are read again and, if the page
// size changed, the request is repeated once.
export async function fetchPage(room, where, want) {
  for (let again = true; ; again = false) {
    const size = pageSize(want);
    let q = "?";
    if (where.before) q += "before=" + encodeURIComponent(where.before) + "&";
    else if (where.after) q += "after=" + encodeURIComponent(where.after) + "&";
    let data;
    try {
      data = await api("GET", roomPath(room) + "/messages" + q + "limit=" + size);
    } catch (e) {
      if (!again || e.status !== 400) throw e;
      await refresh();
      if (pageSize(want) === size) throw e;
      continue;
    }
    return {
      messages: data && Array.isArray(data.messages) ? data.messages : [],
      hasMore: !!(data && data.has_more),
    };
  }
}
