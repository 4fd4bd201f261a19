package server

import (
	"net/http"

	"github.com/ssechat/chat/chat"
)

// serverLimits are the limits this server announces to clients, in
// GET /api/limits and in every welcome. They are derived from the
// configuration, so a front end never assumes a number the server does not
// honour (a page size over --history-page-max answers 400), and a login
// prompt can say before anyone logs in whether a new nick registers.
func (c Config) serverLimits() chat.ServerLimits {
	l := chat.ServerLimits{
		HistoryPageMax:     c.HistoryPageMax,
		HistoryPageDefault: min(chat.DefaultPageSize, c.HistoryPageMax),
		ReplayMax:          c.ReplayMax,
		TextMax:            chat.MaxTextLen,
		TopicMax:           chat.MaxTopicLen,
		Registration:       c.Registration,
	}
	if c.Limits.Enabled {
		l.MessageRate, l.MessageBurst = c.Limits.MessageRate, c.Limits.MessageBurst
	}
	return l
}

// handleLimits is GET /api/limits. It needs no session: the numbers are the
// same for everyone and a client wants them before it signs in.
func (s *Server) handleLimits(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, s.announced)
	return nil
}
