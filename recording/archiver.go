package recording

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"hotline"
	"hotline/store"
)

// ARI is where the archiver reaches Asterisk: the REST base URL ending in
// "/ari" (e.g. "http://127.0.0.1:8088/ari") and its Basic auth user.
type ARI struct {
	URL, Username, Password string
}

// Deps are what the recording services use. DB is required; a nil Now is
// time.Now, a nil Logger discards, a nil Registerer registers nothing, a
// nil HTTP is a client with no overall timeout (each fetch is bounded by
// Config.FetchTimeout).
type Deps struct {
	DB  *store.DB
	ARI ARI
	// Server names the Asterisk server ARI reaches: the archiver keeps the
	// recordings it reports finished under that name and archives only
	// those. OrUnnamed: it also archives those recorded before servers
	// had names (the first server's archiver).
	Server     string
	OrUnnamed  bool
	HTTP       *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

func (d *Deps) setDefaults() {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.HTTP == nil {
		d.HTTP = &http.Client{}
	}
}

// Archiver copies finished recordings from Asterisk into the archive
// folder. Call Finished on every RecordingFinished event, Start once, Stop
// on shutdown.
type Archiver struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	archived prometheus.Counter
	failures prometheus.Counter
	wake     chan struct{}

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// NewArchiver checks cfg and registers the metrics
// hotline_recordings_archived_total and
// hotline_recordings_archive_failures_total.
func NewArchiver(cfg Config, deps Deps) (*Archiver, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.DB == nil {
		return nil, errors.New("recording: NewArchiver needs a database")
	}
	if deps.ARI.URL == "" && cfg.SpoolDir == "" {
		return nil, errors.New("recording: NewArchiver needs the ARI URL or recordings.spool_dir")
	}
	deps.setDefaults()
	a := &Archiver{
		cfg: cfg, deps: deps, log: deps.Logger.With("component", "recording.archiver"),
		archived: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_recordings_archived_total", Help: "Recordings copied into the archive with their hash.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hotline_recordings_archive_failures_total", Help: "Failed attempts to archive a recording.",
		}),
		wake: make(chan struct{}, 1),
	}
	if deps.Registerer != nil {
		for _, c := range []prometheus.Collector{a.archived, a.failures} {
			if err := deps.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("recording: register metrics: %w", err)
			}
		}
	}
	if err := os.MkdirAll(cfg.ArchiveDir, 0o750); err != nil {
		return nil, fmt.Errorf("recordings.archive_dir: %w", err)
	}
	return a, nil
}

// Finished records that Asterisk finished the recording called name (of
// inbound call callID; "" for a callback or reply call) at at: the row is
// stored as pending before anything else, so the metadata is never lost,
// and the archive loop is woken. A bad name is refused (invalid input).
func (a *Archiver) Finished(ctx context.Context, name, callID string, at time.Time) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if at.IsZero() {
		at = a.deps.Now()
	}
	err := a.deps.DB.RecordingFinished(ctx, a.deps.Server, name, callID, "wav", at)
	if err != nil && callID != "" && hotline.KindOf(err) == hotline.KindInvalid {
		// The call row is missing (it may not be written yet): keep the
		// recording without the link rather than lose it.
		a.log.Warn("recording's call not found; kept without it", "name", name, "call", callID, "err", err)
		err = a.deps.DB.RecordingFinished(ctx, a.deps.Server, name, "", "wav", at)
	}
	if err != nil {
		return err
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return nil
}

// Start runs the archive loop in the background until Stop.
func (a *Archiver) Start(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cancel != nil {
		return
	}
	ctx, a.cancel = context.WithCancel(ctx)
	a.done = make(chan struct{})
	go func() {
		defer close(a.done)
		// The claims left are a predecessor's (this archiver's own end
		// with its passes): archive those recordings now.
		if n, err := a.deps.DB.ReleaseRecordingClaims(ctx, a.deps.Server, a.deps.OrUnnamed); err != nil {
			a.log.Warn("claims on recordings left by the last archiver not released; they run out", "err", err)
		} else if n > 0 {
			a.log.Info("claims on recordings left by the last archiver released", "count", n)
		}
		t := time.NewTicker(a.cfg.PollInterval)
		defer t.Stop()
		for {
			// Passes follow one another while each finds a full batch: the
			// wait below is for recordings still to finish, not for those
			// due now.
			if _, err := a.Flush(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("archive pass failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-a.wake:
				// The recordings that finish meanwhile go in the same pass:
				// one claim and one write for all of them. Each is stored
				// pending already, so the wait loses nothing.
				wait := time.NewTimer(a.cfg.BatchWait)
				select {
				case <-ctx.Done():
					wait.Stop()
					return
				case <-wait.C:
				}
			}
		}
	}()
}

// Stop ends the loop and waits for the pass in progress.
func (a *Archiver) Stop() {
	a.mu.Lock()
	cancel, done := a.cancel, a.done
	a.cancel = nil
	a.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Flush archives the recordings of its server due now, as the loop's next
// pass would, and returns how many (a stopping service: what its last
// calls recorded is archived before it goes). The loop may run meanwhile:
// claims keep them apart.
func (a *Archiver) Flush(ctx context.Context) (int, error) {
	total := 0
	for {
		n, claimed, err := a.pass(ctx)
		total += n
		if err != nil || claimed < a.cfg.Batch {
			return total, err
		}
	}
}

// runOnce is one pass (see pass) and returns how many it archived.
func (a *Archiver) runOnce(ctx context.Context) (int, error) {
	n, _, err := a.pass(ctx)
	return n, err
}

// pass claims up to Batch pending recordings of its server that are due,
// all in one transaction, archives them one after the other, stores how
// each attempt ended in one transaction (FinishArchiveAttempts), and only
// then deletes Asterisk's copies of those archived; it returns how many it
// archived and how many it claimed. The claim keeps two instances from
// writing one recording's file at once, and lasts as long as one download
// may take (FetchTimeout) and a minute: a recording is begun only while
// its download would end inside the claim, the rest are handed back for
// the next pass. A claim whose archiver died runs out. A crash anywhere
// leaves each recording pending with Asterisk's copy in place (archived
// again, the same file renamed over its own) or archived.
func (a *Archiver) pass(ctx context.Context) (archived, claimed int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	now, token := a.deps.Now(), claimToken()
	until := now.Add(a.cfg.FetchTimeout + time.Minute)
	due, err := a.deps.DB.ClaimDueRecordings(ctx, a.deps.Server, a.deps.OrUnnamed, token, now, until, a.cfg.Batch)
	if err != nil || len(due) == 0 {
		return 0, 0, err
	}
	// A claimed recording is finished even when Stop comes meanwhile
	// (bounded by its fetch): cut off after the rename, its file would be
	// in place and its row pending under a claim nobody holds. The lease's
	// fence travels on in the context's values.
	bg := context.WithoutCancel(ctx)
	attempts := make([]store.ArchiveAttempt, len(due))
	bound := a.cfg.FetchTimeout + 10*time.Second
	for i, r := range due {
		attempts[i].Recording = r.Recording
		if ctx.Err() != nil || a.deps.Now().Add(bound).After(until) {
			attempts[i].NotTried = true
			continue
		}
		actx, cancel := context.WithTimeout(bg, bound)
		rec, err := a.archive(actx, r)
		cancel()
		if err != nil {
			a.failures.Inc()
			attempts[i] = a.failed(r, err)
			continue
		}
		attempts[i].Recording = rec
	}
	lost, err := a.deps.DB.FinishArchiveAttempts(bg, token, attempts)
	if err != nil {
		// The files are in place, the rows pending under a claim that runs
		// out: archived again then, Asterisk's copies kept till then.
		return 0, len(due), err
	}
	for _, at := range attempts {
		r := at.Recording
		switch {
		case at.NotTried || at.Failure != "":
			continue
		case slices.Contains(lost, r.Name):
			a.log.Warn("another archiver's claim took the recording over; it archives it", "name", r.Name)
			continue
		}
		a.archived.Inc()
		archived++
		a.log.Info("recording archived", "name", r.Name, "bytes", r.SizeBytes, "sha256", r.SHA256)
		if *a.cfg.DeleteFromAsterisk {
			dctx, cancel := context.WithTimeout(bg, a.cfg.FetchTimeout)
			if err := a.deleteFromAsterisk(dctx, r.Name); err != nil {
				// The archive holds the audio; Asterisk's copy is only left over.
				a.log.Warn("could not delete Asterisk's copy of an archived recording", "name", r.Name, "err", err)
			}
			cancel()
		}
	}
	return archived, len(due), nil
}

// failed counts a failed attempt: retried after a doubling backoff, or
// marked failed after MaxAttempts.
func (a *Archiver) failed(r store.ArchivedRecording, cause error) store.ArchiveAttempt {
	attempt := r.Attempts + 1
	giveUp := attempt >= a.cfg.MaxAttempts
	wait := a.cfg.Backoff
	for i := 1; i < attempt && wait < a.cfg.MaxBackoff; i++ {
		wait *= 2
	}
	wait = min(wait, a.cfg.MaxBackoff)
	if giveUp {
		a.log.Error("recording could not be archived; marked failed", "name", r.Name, "attempts", attempt, "err", cause)
	} else {
		a.log.Warn("archiving a recording failed; will retry", "name", r.Name, "attempt", attempt, "retry_in", wait, "err", cause)
	}
	return store.ArchiveAttempt{Recording: r.Recording, Failure: cause.Error(), Next: a.deps.Now().Add(wait), GiveUp: giveUp}
}

// claimToken names one archive attempt's claim.
func claimToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Path returns the archive file of a recording; name must be valid. Both
// archive formats are WAV files.
func (c Config) path(name, format string) string {
	if format == "" || format == FormatULaw {
		format = FormatWAV
	}
	return filepath.Join(c.ArchiveDir, name+"."+format)
}

// archive puts a claimed recording's audio in the archive folder (see
// place) and returns it as archived.
func (a *Archiver) archive(ctx context.Context, r store.ArchivedRecording) (hotline.Recording, error) {
	if err := ValidName(r.Name); err != nil {
		return r.Recording, err
	}
	if r.Format != "wav" {
		return r.Recording, fmt.Errorf("format %q is not supported", r.Format)
	}
	src, err := a.open(ctx, r.Name, r.Format)
	if err != nil {
		return r.Recording, err
	}
	defer src.Close()
	return a.place(r, src)
}

// keep archives a recording's audio read from src and marks its row
// archived (the voice messages' import: no claim).
func (a *Archiver) keep(ctx context.Context, r store.ArchivedRecording, src io.Reader) error {
	rec, err := a.place(r, src)
	if err != nil {
		return err
	}
	if err := a.deps.DB.MarkRecordingArchived(ctx, rec, ""); err != nil {
		return err
	}
	a.log.Info("recording archived", "name", r.Name, "bytes", rec.SizeBytes, "sha256", rec.SHA256)
	return nil
}

// place writes a recording's audio into the archive folder in
// recordings.format, in one pass: read, hashed and written to a temporary
// file, which is synced and renamed into place once complete, so the
// final name never holds a part of a file. It returns the recording with
// the archived file's format, size, length and SHA-256.
func (a *Archiver) place(r store.ArchivedRecording, src io.Reader) (hotline.Recording, error) {
	rec := r.Recording
	tmp, err := os.CreateTemp(a.cfg.ArchiveDir, "."+r.Name+".*.part")
	if err != nil {
		return rec, err
	}
	placed := false
	defer func() {
		if !placed {
			_ = os.Remove(tmp.Name())
		}
	}()
	w, err := a.write(tmp, r, src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return rec, fmt.Errorf("copy %s: %w", r.Name, err)
	}
	if w.durErr != nil {
		// A header the start of the download did not hold: read the file's.
		if w.dur, err = wavDurationFile(tmp.Name()); err != nil {
			return rec, fmt.Errorf("recording %s: %w", r.Name, err)
		}
	}
	if err := os.Rename(tmp.Name(), a.cfg.path(r.Name, w.format)); err != nil {
		return rec, err
	}
	placed = true
	rec.Format, rec.SizeBytes, rec.Duration, rec.SHA256 = w.format, w.size, w.dur.Seconds(), w.sum
	rec.ArchivedAt = a.deps.Now()
	return rec, nil
}

// written is what write wrote: the format, size, length and SHA-256 of
// the file, or why its length is not known yet.
type written struct {
	format string
	size   int64
	dur    time.Duration
	durErr error
	sum    string
}

// write copies src into tmp as recordings.format asks, hashing it on the
// way. Audio that cannot be re-encoded (not 16-bit linear PCM) is kept as
// Asterisk recorded it.
func (a *Archiver) write(tmp *os.File, r store.ArchivedRecording, src io.Reader) (written, error) {
	in := bufio.NewReaderSize(src, 64<<10)
	start, _ := in.Peek(64 << 10) // the header, from as much of the start as there is
	f, herr := readWAVHeader(bytes.NewReader(start))
	if a.cfg.Format == FormatULaw && r.Format == FormatWAV {
		if herr == nil && f.linear16() {
			size, dur, sum, err := encodeULawWAV(tmp, in)
			return written{format: FormatULaw, size: size, dur: dur, sum: hex.EncodeToString(sum)}, err
		}
		a.log.Info("recording kept as recorded: it is not 16-bit linear PCM WAV", "name", r.Name, "header", f, "err", herr)
	}
	h := sha256.New()
	size, err := in.WriteTo(io.MultiWriter(tmp, h))
	w := written{format: r.Format, size: size, sum: hex.EncodeToString(h.Sum(nil)), durErr: herr}
	if herr == nil {
		w.dur, w.durErr = f.duration(size)
	}
	return w, err
}

// open returns the recording's audio: from the spool folder when
// configured, else GET {ari}/recordings/stored/{name}/file.
func (a *Archiver) open(ctx context.Context, name, format string) (io.ReadCloser, error) {
	if a.cfg.SpoolDir != "" {
		return os.Open(filepath.Join(a.cfg.SpoolDir, name+"."+format))
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.FetchTimeout)
	resp, err := a.ariRequest(ctx, http.MethodGet, "/recordings/stored/"+url.PathEscape(name)+"/file")
	if err != nil {
		cancel()
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		_ = resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("GET stored recording %s: %s: %s", name, resp.Status, strings.TrimSpace(string(body)))
	}
	return cancelOnClose{resp.Body, cancel}, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error { err := c.ReadCloser.Close(); c.cancel(); return err }

func (a *Archiver) deleteFromAsterisk(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.FetchTimeout)
	defer cancel()
	resp, err := a.ariRequest(ctx, http.MethodDelete, "/recordings/stored/"+url.PathEscape(name))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusNotFound {
		return fmt.Errorf("DELETE stored recording %s: %s", name, resp.Status)
	}
	return nil
}

func (a *Archiver) ariRequest(ctx context.Context, method, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(a.deps.ARI.URL, "/")+path, nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(a.deps.ARI.Username, a.deps.ARI.Password)
	return a.deps.HTTP.Do(req)
}

// wavDurationFile reads a WAV file's length from its header: the data
// chunk's size over the fmt chunk's byte rate. A data size past the end of
// the file (a recorder that never fixed its header) counts to the end.
// Chunks before the data may be of any size (skipped, not read).
func wavDurationFile(path string) (time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	var hdr [12]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil || string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return 0, errors.New("not a WAV file")
	}
	pos := int64(12)
	var w wavFormat
	for {
		var ch [8]byte
		if _, err := f.ReadAt(ch[:], pos); err != nil {
			return 0, errors.New("WAV file has no data chunk")
		}
		size := int64(binary.LittleEndian.Uint32(ch[4:]))
		switch string(ch[0:4]) {
		case "fmt ":
			var fmtc [16]byte
			if _, err := f.ReadAt(fmtc[:], pos+8); err != nil {
				return 0, errors.New("WAV fmt chunk too short")
			}
			w.byteRate = binary.LittleEndian.Uint32(fmtc[8:])
		case "data":
			w.dataAt, w.dataSize = pos+8, size
			return w.duration(st.Size())
		}
		pos += 8 + size + size%2
	}
}
