package recording

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"hotline"
	"hotline/store"
)

// Audit actions and results written by the player and retention.
const (
	ActionListen   = "recording.listen"
	ActionDownload = "recording.download"
	ActionTamper   = "recording.tamper"
	ActionDelete   = "recording.delete"

	ResultOK       = "ok"
	ResultDenied   = "denied"
	ResultNotFound = "not_found"
	ResultNoAudio  = "no_audio"
	ResultError    = "error"
	ResultMismatch = "mismatch"
)

// IntegrityHeader is set to "MISMATCH" on audio that no longer matches the
// hash taken when it was archived.
const IntegrityHeader = "X-Hotline-Integrity"

// Player serves archived recordings to staff, checking who may hear what
// and writing every attempt to the audit log.
type Player struct {
	cfg Config
	db  *store.DB
	now func() time.Time
	log *slog.Logger
}

// NewPlayer builds the player over cfg.ArchiveDir.
func NewPlayer(cfg Config, deps Deps) (*Player, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.DB == nil {
		return nil, errors.New("recording: NewPlayer needs a database")
	}
	deps.setDefaults()
	return &Player{cfg: cfg, db: deps.DB, now: deps.Now, log: deps.Logger.With("component", "recording.player")}, nil
}

// RecordingParties returns the agents who took part in what the recording
// holds (the access table lets them hear it); NotFound when there is no
// such recording.
func (p *Player) RecordingParties(ctx context.Context, name string) ([]string, error) {
	if err := ValidName(name); err != nil {
		return nil, err
	}
	return p.db.RecordingParties(ctx, name)
}

// ServeAudio serves the recording called name to the actor of r's context,
// whom the access table has let hear it (web checks before). It answers
// with Range support and Content-Type audio/wav; download makes it an
// attachment (audited as recording.download, else recording.listen). Audio
// that no longer matches its hash is served with X-Hotline-Integrity:
// MISMATCH and a recording.tamper audit entry. Every attempt is audited
// with the actor, roles, client address and result. When it returns an
// error nothing was written to w: the caller answers it (kinds Invalid,
// NotFound, ...). An invalid name is refused before anything is audited.
func (p *Player) ServeAudio(w http.ResponseWriter, r *http.Request, name string, download bool) error {
	const op = "recording.ServeAudio"
	ctx := r.Context()
	if err := ValidName(name); err != nil {
		return err
	}
	viewer, _ := hotline.ActorFromContext(ctx)
	action := ActionListen
	if download {
		action = ActionDownload
	}
	object := "recording:" + name
	audit := func(result, detail string) error {
		_, err := p.db.AppendAudit(ctx, hotline.AuditEntry{At: p.now(), Actor: actorOf(viewer.ID), Role: viewer.RoleText(), Action: action,
			Object: object, Client: viewer.Address, Result: result, Detail: detail})
		if err != nil {
			p.log.Error("audit entry not written", "action", action, "object", object, "err", err)
		}
		return err
	}
	client := viewer.Address
	rec, err := p.db.GetRecording(ctx, name)
	if err != nil {
		if hotline.KindOf(err) == hotline.KindNotFound {
			_ = audit(ResultNotFound, "")
		}
		return err
	}
	if rec.State != hotline.RecordingArchived {
		_ = audit(ResultNoAudio, "state "+string(rec.State))
		return hotline.Errorf(hotline.KindNotFound, op, "recording %q has no archived audio (state %s)", name, rec.State)
	}
	f, err := os.Open(p.cfg.path(name, rec.Format))
	if err != nil {
		_ = audit(ResultError, "archive file missing")
		_, _ = p.db.AppendAudit(ctx, hotline.AuditEntry{At: p.now(), Actor: "system:archive", Action: ActionTamper,
			Object: object, Client: client, Result: ResultMismatch, Detail: "archive file missing"})
		return hotline.Errorf(hotline.KindNotFound, op, "recording %q: the archived file is missing", name)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		_ = audit(ResultError, err.Error())
		return hotline.WrapError(hotline.KindInternal, op, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != rec.SHA256 {
		p.log.Error("archived recording does not match its hash", "name", name, "want", rec.SHA256, "got", got)
		if _, err := p.db.AppendAudit(ctx, hotline.AuditEntry{At: p.now(), Actor: actorOf(viewer.ID), Role: viewer.RoleText(), Action: ActionTamper,
			Object: object, Client: client, Result: ResultMismatch,
			Detail: fmt.Sprintf("sha256 stored %s, file %s", rec.SHA256, got)}); err != nil {
			return err
		}
		w.Header().Set(IntegrityHeader, "MISMATCH")
	}
	if err := audit(ResultOK, r.Header.Get("Range")); err != nil {
		return err // no listen without its audit entry
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "no-store")
	if download {
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name+"."+rec.Format))
	}
	http.ServeContent(w, r, "", rec.ArchivedAt, f)
	return nil
}

func actorOf(viewer string) string {
	if viewer == "" {
		return "anonymous"
	}
	return viewer
}
