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
			if _, err := a.runOnce(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("archive pass failed", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-a.wake:
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
		n, err := a.runOnce(ctx)
		total += n
		if err != nil || n < a.cfg.Batch {
			return total, err
		}
	}
}

// runOnce tries up to Batch pending recordings of its server that are due,
// and returns how many it archived. Each is claimed in the database first,
// for one download and a minute, so two instances never write one
// recording's file at once; a claim whose archiver died runs out.
func (a *Archiver) runOnce(ctx context.Context) (int, error) {
	n := 0
	for range a.cfg.Batch {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		now := a.deps.Now()
		token := claimToken()
		due, err := a.deps.DB.ClaimDueRecordings(ctx, a.deps.Server, a.deps.OrUnnamed, token, now, now.Add(a.cfg.FetchTimeout+time.Minute), 1)
		if err != nil {
			return n, err
		}
		if len(due) == 0 {
			return n, nil
		}
		r := due[0]
		// A claimed recording is finished even when Stop comes meanwhile
		// (bounded by its fetch): cut off after the rename, its file would
		// be in place and its row pending under a claim nobody holds. The
		// lease's fence travels on in the context's values.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.FetchTimeout+10*time.Second)
		err = a.archive(actx, r, token)
		if err != nil {
			a.failures.Inc()
			ferr := a.failed(actx, r, err)
			cancel()
			if ferr != nil {
				return n, ferr
			}
			continue
		}
		cancel()
		a.archived.Inc()
		n++
	}
	return n, nil
}

// failed counts a failed attempt: retried after a doubling backoff, or
// marked failed after MaxAttempts.
func (a *Archiver) failed(ctx context.Context, r store.ArchivedRecording, cause error) error {
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
	return a.deps.DB.MarkRecordingAttemptFailed(ctx, r.Name, cause.Error(), a.deps.Now().Add(wait), giveUp)
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

func (a *Archiver) archive(ctx context.Context, r store.ArchivedRecording, token string) error {
	if err := ValidName(r.Name); err != nil {
		return err
	}
	format := r.Format
	if format != "wav" {
		return fmt.Errorf("format %q is not supported", format)
	}
	src, err := a.open(ctx, r.Name, format)
	if err != nil {
		return err
	}
	defer src.Close()
	if err := a.keep(ctx, r, token, src); err != nil {
		return err
	}
	if *a.cfg.DeleteFromAsterisk {
		if err := a.deleteFromAsterisk(ctx, r.Name); err != nil {
			// The archive holds the audio; Asterisk's copy is only left over.
			a.log.Warn("could not delete Asterisk's copy of an archived recording", "name", r.Name, "err", err)
		}
	}
	return nil
}

// keep writes a recording's audio into the archive folder (through a
// temporary file, renamed once complete), in recordings.format, and marks
// its row archived with format, size, length and the archived file's
// SHA-256, by the claim of token ("" when unclaimed).
func (a *Archiver) keep(ctx context.Context, r store.ArchivedRecording, token string, src io.Reader) error {
	tmp, err := os.CreateTemp(a.cfg.ArchiveDir, "."+r.Name+".*.part")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // gone after the rename; cleans up on failure
	format, size, sum, err := a.write(tmp, r, src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", r.Name, err)
	}
	dur, err := wavDurationFile(tmp.Name())
	if err != nil {
		return fmt.Errorf("recording %s: %w", r.Name, err)
	}
	if err := os.Rename(tmp.Name(), a.cfg.path(r.Name, format)); err != nil {
		return err
	}
	r.Recording.Format = format
	r.SizeBytes = size
	r.Duration = dur.Seconds()
	r.SHA256 = sum
	r.ArchivedAt = a.deps.Now()
	if err := a.deps.DB.MarkRecordingArchived(ctx, r.Recording, token); err != nil {
		return err
	}
	a.log.Info("recording archived", "name", r.Name, "bytes", size, "sha256", r.SHA256)
	return nil
}

// write copies src into tmp as recordings.format asks and returns the
// format written, its size and SHA-256. Audio that cannot be re-encoded
// (not 16-bit linear PCM) is kept as Asterisk recorded it.
func (a *Archiver) write(tmp *os.File, r store.ArchivedRecording, src io.Reader) (format string, size int64, sum string, err error) {
	h := sha256.New()
	if a.cfg.Format == FormatULaw && r.Format == FormatWAV {
		in := bufio.NewReaderSize(src, 64<<10)
		start, _ := in.Peek(64 << 10) // the header, from as much of the start as there is
		f, err := readWAVHeader(bytes.NewReader(start))
		if err == nil && f.linear16() {
			if size, err = encodeULawWAV(tmp, in); err != nil {
				return "", 0, "", err
			}
			// The hash is of the file as archived, read back.
			if _, err = tmp.Seek(0, io.SeekStart); err == nil {
				_, err = io.Copy(h, tmp)
			}
			return FormatULaw, size, hex.EncodeToString(h.Sum(nil)), err
		}
		a.log.Info("recording kept as recorded: it is not 16-bit linear PCM WAV", "name", r.Name, "header", f, "err", err)
		src = in
	}
	size, err = io.Copy(io.MultiWriter(tmp, h), src)
	return r.Format, size, hex.EncodeToString(h.Sum(nil)), err
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
	byteRate := uint32(0)
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
			byteRate = binary.LittleEndian.Uint32(fmtc[8:])
		case "data":
			if byteRate == 0 {
				return 0, errors.New("WAV file has no byte rate before its data")
			}
			size = min(size, st.Size()-pos-8)
			return time.Duration(float64(size) / float64(byteRate) * float64(time.Second)), nil
		}
		pos += 8 + size + size%2
	}
}
