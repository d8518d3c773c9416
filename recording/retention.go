package recording

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"hotline"
	"hotline/store"
)

// Retention deletes archived audio older than Config.Retention, except
// recordings on legal hold or of a call with an open case (an undisposed
// violation or an unfinished promise). The row stays, marked deleted with
// its hash, and each deletion is audited (recording.delete by
// system:retention). Start once, Stop on shutdown.
type Retention struct {
	cfg Config
	db  *store.DB
	now func() time.Time
	log *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewRetention builds the retention job.
func NewRetention(cfg Config, deps Deps) (*Retention, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.DB == nil {
		return nil, errors.New("recording: NewRetention needs a database")
	}
	deps.setDefaults()
	return &Retention{cfg: cfg, db: deps.DB, now: deps.Now, log: deps.Logger.With("component", "recording.retention")}, nil
}

// Start runs a pass now and then every RetentionInterval until Stop.
func (j *Retention) Start(ctx context.Context) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.cancel != nil {
		return
	}
	ctx, j.cancel = context.WithCancel(ctx)
	j.done = make(chan struct{})
	go func() {
		defer close(j.done)
		t := time.NewTicker(j.cfg.RetentionInterval)
		defer t.Stop()
		for {
			if _, err := j.runOnce(ctx); err != nil && ctx.Err() == nil {
				j.log.Error("retention pass failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the job and waits for the pass in progress.
func (j *Retention) Stop() {
	j.mu.Lock()
	cancel, done := j.cancel, j.done
	j.cancel = nil
	j.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// runOnce deletes every expired recording's audio and returns how many.
func (j *Retention) runOnce(ctx context.Context) (int, error) {
	cutoff := j.now().Add(-j.cfg.Retention)
	n := 0
	for {
		expired, err := j.db.ExpiredRecordings(ctx, cutoff, j.cfg.Batch)
		if err != nil {
			return n, err
		}
		if len(expired) == 0 {
			return n, nil
		}
		for _, r := range expired {
			if err := j.delete(ctx, r); err != nil {
				return n, err
			}
			n++
		}
	}
}

func (j *Retention) delete(ctx context.Context, r store.ArchivedRecording) error {
	if err := ValidName(r.Name); err != nil {
		return err
	}
	err := os.Remove(j.cfg.path(r.Name, r.Format))
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	detail := "retention " + j.cfg.Retention.String()
	if os.IsNotExist(err) {
		detail += "; file was already gone"
	}
	at := j.now()
	if err := j.db.MarkRecordingDeleted(ctx, r.Name, at); err != nil {
		return err
	}
	_, err = j.db.AppendAudit(ctx, hotline.AuditEntry{At: at, Actor: "system:retention", Action: ActionDelete,
		Object: "recording:" + r.Name, Result: ResultOK, Detail: detail})
	j.log.Info("recording audio deleted by retention", "name", r.Name)
	return err
}
