package server

import (
	"context"
	"errors"
	"time"

	"github.com/ssechat/chat/server/store"
)

// revocationSweep is how often the sessions of this node's open streams are
// read again from the store. A session revoked where this server cannot
// hear it — chat-server user passwd or user del beside it on the SQLite
// file, a logout or a token revocation on another node of a cluster, an
// account deleted anywhere — ends its streams within about this long (plus
// one store read per open session), inside the one second (one node) and
// two seconds (cluster) that docs/security.md promises.
const revocationSweep = 400 * time.Millisecond

// startRevocationSweep makes sure the sweep runs while any stream with a
// session is open: the first such stream starts it, and it stops by itself
// once none is left (and at Shutdown, which waits for it).
func (s *Server) startRevocationSweep() {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	if s.sweeping || s.shuttingDown() {
		return
	}
	s.sweeping = true
	s.sweepers.Add(1)
	go s.sweepRevocations()
}

// sweepRevocations reads the session of every open stream again every
// revocationSweep and ends the streams of a session the store no longer
// has (revoked, its account deleted, or expired). A store that cannot
// answer ends nothing: an outage must not cut every stream.
func (s *Server) sweepRevocations() {
	defer s.sweepers.Done()
	tick := time.NewTicker(revocationSweep)
	defer tick.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-tick.C:
		}
		hashes := s.open.sessionHashes()
		if len(hashes) == 0 {
			s.sweepMu.Lock()
			if s.open.sessionCount() == 0 {
				s.sweeping = false
				s.sweepMu.Unlock()
				return
			}
			s.sweepMu.Unlock()
			continue
		}
		for _, hash := range hashes {
			if s.shuttingDown() {
				return
			}
			s.checkSession(hash)
		}
	}
}

// checkSession ends the open streams of one session if the store no
// longer has it.
func (s *Server) checkSession(hash string) {
	ctx, cancel := context.WithTimeout(context.Background(), revocationSweep)
	defer cancel()
	_, err := s.st.Session(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		// A personal access token's streams are registered under its
		// hash too (tokens.go): it stands while the store has the token.
		_, err = s.st.TokenByHash(ctx, hash)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.sessions.drop(hash)
		if n := s.open.end(sessionStreamsKey(hash), nil, nil); n > 0 {
			s.log.Info("ended the streams of a revoked session", "streams", n)
		}
	case err != nil && !errors.Is(err, store.ErrClosed):
		s.log.Warn("check session of open streams", "err", err)
	}
}
