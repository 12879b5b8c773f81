package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ninja-ipfs/ninja/api"
	"github.com/ninja-ipfs/ninja/pinning"
	"github.com/ninja-ipfs/ninja/token"
)

// Backupper makes a consistent backup of the running data directory into
// a directory of the server's machine (app.App does).
type Backupper interface {
	Backup(ctx context.Context, req api.BackupRequest, progress func(api.BackupProgress)) (api.BackupManifest, error)
}

// backupProgressEvery spaces the progress lines of a backup.
const backupProgressEvery = time.Second

// handleBackup is POST /admin/backup, for `ninja backup`: the server makes
// the backup (it holds the database and can keep GC off the blocks being
// copied) while it goes on serving, and streams newline-delimited JSON:
// progress lines, then the manifest or the error. It runs only on the
// admin socket: a backup writes files wherever the server's user may, a
// power an API key over the network must not have. Cancelling the request
// (the CLI interrupted) stops the backup; the previous one in the
// directory stays usable.
func (s *Server) handleBackup(w http.ResponseWriter, r *http.Request) error {
	if !state(r).socket {
		return fmt.Errorf("%w: a backup writes files on the server's machine: run `ninja backup` there (it uses the admin socket)", token.ErrForbidden)
	}
	if s.backup == nil {
		return fmt.Errorf("%w: backups are not available here", pinning.ErrUnavailable)
	}
	var req api.BackupRequest
	if err := decodeJSON(w, r, 1<<16, &req, false); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	var mu sync.Mutex
	send := func(ev api.BackupEvent) {
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(ev)
		rc.Flush()
	}
	last := time.Now()
	m, err := s.backup.Backup(r.Context(), req, func(p api.BackupProgress) {
		if time.Since(last) >= backupProgressEvery {
			last = time.Now()
			send(api.BackupEvent{Progress: &p})
		}
	})
	if err != nil {
		s.log.Error("backup failed", "dest", req.Dest, "err", err)
		// The socket's user is the operator: the full text is theirs.
		e := toAPIError(err)
		send(api.BackupEvent{Error: &api.ErrorDetail{Reason: e.Reason, Details: err.Error()}})
		return nil
	}
	s.log.Info("backup done", "dest", req.Dest, "pins", m.Pins, "blocks", m.Blocks, "copied", m.Copied)
	send(api.BackupEvent{Done: &m})
	return nil
}
