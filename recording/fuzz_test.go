package recording

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"hotline"
	"hotline/store"
)

// FuzzRecordingName hands the archive any name, as an ARI event or an API
// path could: a name is accepted only when it is one flat file name in the
// archive folder, and then stored as pending; any other is refused as
// invalid input, stores nothing, and is quoted in the message only when
// short.
func FuzzRecordingName(f *testing.F) {
	for _, seed := range []string{"c1", "c1-part2", "cb-12-1700000000000", "../etc/passwd", "..", ".hidden", "a/b", `a\b`,
		"a..b", "", strings.Repeat("x", MaxNameLen), strings.Repeat("x", MaxNameLen+1), "名字", "a\x00b", "a b", "%2e%2e", "c1.wav"} {
		f.Add(seed)
	}
	dir := f.TempDir()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Config{Path: filepath.Join(dir, "hotline.db")}, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	cfg := Config{ArchiveDir: filepath.Join(dir, "archive"), SpoolDir: filepath.Join(dir, "spool")}
	a, err := NewArchiver(cfg, Deps{DB: db, Logger: slog.New(slog.DiscardHandler), Registerer: prometheus.NewRegistry()})
	if err != nil {
		f.Fatal(err)
	}
	cfg.SetDefaults()

	f.Fuzz(func(t *testing.T, name string) {
		err := ValidName(name)
		finished := a.Finished(ctx, name, "", t0)
		_, getErr := db.GetRecording(ctx, name)
		if err != nil {
			if hotline.KindOf(err) != hotline.KindInvalid || hotline.KindOf(finished) != hotline.KindInvalid {
				t.Fatalf("%q: refused as %v, %v; want invalid", name, err, finished)
			}
			if len(name) > MaxNameLen && strings.Contains(err.Error(), name) {
				t.Fatalf("a long name is not quoted: %v", err)
			}
			if getErr == nil {
				t.Fatalf("%q: refused, yet stored", name)
			}
			return
		}
		path := cfg.path(name, "wav")
		if filepath.Dir(path) != filepath.Clean(cfg.ArchiveDir) || filepath.Base(path) != name+".wav" {
			t.Fatalf("%q: archived at %s, outside the archive folder's top level", name, path)
		}
		if name == "." || name == ".." || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`) {
			t.Fatalf("%q accepted", name)
		}
		if finished != nil || getErr != nil {
			t.Fatalf("%q: valid, yet not stored: %v, %v", name, finished, getErr)
		}
	})
}
