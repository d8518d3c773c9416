package app

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"hotline"
	"hotline/recording"
	"hotline/store"
)

// A recording archived in each recordings.format plays in Chromium as the
// console plays it: an <audio> element on the player's route reaches
// canplay with the recording's length, then plays.
func TestULawRecordingPlaysInChromium(t *testing.T) {
	t.Parallel()
	browser := newBrowser(t)
	ctx := t.Context()
	dir := t.TempDir()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "hotline.db")}, nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	_, err = db.Migrate(ctx)
	require.NoError(t, err)

	// Three seconds of a 440 Hz tone, as Asterisk records: 8 kHz, 16-bit, mono.
	spool := filepath.Join(dir, "spool")
	require.NoError(t, os.MkdirAll(spool, 0o750))
	const seconds = 3
	le := binary.LittleEndian
	audio := []byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data")
	audio = le.AppendUint32(audio, seconds*8000*2)
	for i := range seconds * 8000 {
		audio = le.AppendUint16(audio, uint16(int16(10000*math.Sin(2*math.Pi*440*float64(i)/8000))))
	}
	le.PutUint32(audio[4:], uint32(len(audio)-8))

	no := false
	cfg := recording.Config{ArchiveDir: filepath.Join(dir, "archive"), SpoolDir: spool, DeleteFromAsterisk: &no}
	deps := recording.Deps{DB: db}
	for _, format := range []string{recording.FormatWAV, recording.FormatULaw} {
		name := "r-" + format
		require.NoError(t, os.WriteFile(filepath.Join(spool, name+".wav"), audio, 0o640))
		cfg.Format = format
		a, err := recording.NewArchiver(cfg, deps)
		require.NoError(t, err)
		require.NoError(t, a.Finished(ctx, name, "", time.Now()))
		a.Start(ctx)
		require.Eventually(t, func() bool {
			rec, err := db.GetRecording(ctx, name)
			return err == nil && rec.State == hotline.RecordingArchived
		}, 20*time.Second, 20*time.Millisecond, "archived")
		a.Stop()
		rec, err := db.GetRecording(ctx, name)
		require.NoError(t, err)
		require.Equal(t, format, rec.Format)
		require.InDelta(t, seconds, rec.Duration, 0.01)
		t.Logf("%s: %d bytes for %d s (%.1f MB per recorded hour)", format, rec.SizeBytes, seconds,
			float64(rec.SizeBytes)/seconds*3600/1e6)
	}

	player, err := recording.NewPlayer(cfg, deps)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /audio/{name}", func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(hotline.NewContextWithActor(r.Context(),
			hotline.Actor{ID: "2001", Roles: []hotline.Role{hotline.RoleSupervisor}, Address: "127.0.0.1", Method: hotline.AuthSession}))
		if err := player.ServeAudio(w, r, r.PathValue("name"), false); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
		}
	})
	mux.HandleFunc("GET /{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><audio id="a" preload="auto" src="/audio/%s"></audio><script>
const a = document.getElementById("a");
window.state = "loading";
a.addEventListener("canplay", () => { if (window.state === "loading") window.state = "canplay"; });
a.addEventListener("playing", () => { window.state = "playing"; });
a.addEventListener("error", () => { window.state = "error " + (a.error && a.error.code); });
</script>`, r.PathValue("name"))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	for _, format := range []string{recording.FormatWAV, recording.FormatULaw} {
		tab := newTab(t, browser, 30*time.Second)
		require.NoError(t, chromedp.Do(tab, chromedp.Navigate(srv.URL+"/r-"+format)))
		waitFor(t, tab, `window.state !== "loading"`)
		require.Equal(t, "canplay", eval[string](t, tab, `window.state`), format)
		require.InDelta(t, seconds, eval[float64](t, tab, `document.getElementById("a").duration`), 0.05, format)
		eval[bool](t, tab, `(() => { document.getElementById("a").play(); return true; })()`)
		waitFor(t, tab, `window.state === "playing" && document.getElementById("a").currentTime > 0.2`)
	}
}
