package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"

	"hotline"
)

// Storage failures that do not pass by themselves (a full disk, a database
// or folder the service may not write, an I/O error, a damaged file) are
// told apart from ordinary errors: each write that meets one is refused
// whole by SQLite (the transaction rolls back, the file stays consistent),
// returns an Unavailable error that says what is wrong in plain words, and
// makes Ping fail, so /readyz says not ready, until a write succeeds again.

// writeHealth remembers the storage failure writes last met.
type writeHealth struct {
	mu      sync.Mutex
	failing error     // nil while writes succeed
	since   time.Time // when they began to fail
}

// storageProblem says in plain words what a storage failure is, or "" for
// any other error.
func storageProblem(path string, err error) string {
	if problem := pgStorageProblem(path, err); problem != "" {
		return problem
	}
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return ""
	}
	switch se.Code {
	case sqlite3.ErrFull:
		return fmt.Sprintf("the disk holding the database %s is full: nothing of this write was stored; free space on it", path)
	case sqlite3.ErrReadonly:
		return fmt.Sprintf("the database %s is read-only: the service's user must be able to write the file and its folder "+
			"(SQLite keeps %s-wal and %s-shm beside it), on a file system mounted read-write", path, filepath.Base(path), filepath.Base(path))
	case sqlite3.ErrIoErr:
		return fmt.Sprintf("disk I/O error on the database %s: check the disk and the kernel log", path)
	case sqlite3.ErrCorrupt, sqlite3.ErrNotADB:
		return fmt.Sprintf("the database %s is damaged or not a SQLite database: restore it from a backup", path)
	case sqlite3.ErrCantOpen:
		return fmt.Sprintf("the database %s cannot be opened: %s", path, openProblem(path))
	}
	return ""
}

// noteWrite records how a write ended and returns its error, made plain
// and Unavailable when it is a storage failure.
func (db *DB) noteWrite(err error) error {
	problem := storageProblem(db.path, err)
	db.health.mu.Lock()
	defer db.health.mu.Unlock()
	switch {
	case err == nil:
		if db.health.failing != nil {
			db.logger.Info("database writes succeed again", "path", db.path, "failed_since", db.health.since)
			db.health.failing = nil
		}
		return nil
	case problem == "":
		return err
	}
	wrapped := &hotline.Error{Kind: hotline.KindUnavailable, Op: "store.write", Message: problem, Retryable: true, Err: err}
	if db.health.failing == nil {
		db.health.since = db.now()
		db.logger.Error("database writes fail: the service is not ready until they succeed again", "path", db.path, "err", err,
			"problem", problem)
	}
	db.health.failing = wrapped
	return wrapped
}

// probeGrowthSQL makes the file grow by some pages, in a transaction that
// is then rolled back: whether the database may grow again, without
// leaving anything behind.
const probeGrowthSQL = `CREATE TABLE storage_probe (filler BLOB NOT NULL) STRICT;
INSERT INTO storage_probe (filler) VALUES (zeroblob(65536))`

// minFreeBytes is the free space below which the disk is taken as still
// full: a page or a WAL frame more may not fit.
const minFreeBytes = 1 << 20

// errProbed ends the growth probe's transaction without committing it.
var errProbed = errors.New("probe done")

// writesFailing returns the storage failure of the last write, after
// checking whether the cause has gone (space freed, file writable again):
// then writes are taken to succeed again.
func (db *DB) writesFailing(ctx context.Context) error {
	db.health.mu.Lock()
	failing, since := db.health.failing, db.health.since
	db.health.mu.Unlock()
	if failing == nil {
		return nil
	}
	failed := func() error { return fmt.Errorf("writes fail since %s: %w", since.Format(time.RFC3339), failing) }
	var st syscall.Statfs_t
	if db.dialect == sqliteDialect {
		if err := syscall.Statfs(filepath.Dir(db.path), &st); err == nil && st.Bavail*uint64(st.Bsize) < minFreeBytes {
			return failed()
		}
	}
	err := db.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, probeGrowthSQL); err != nil {
			return err
		}
		return errProbed
	})
	if !errors.Is(err, errProbed) {
		return failed()
	}
	return db.noteWrite(nil)
}

// openProblem finds why SQLite could not open or create path, which it
// reports only as "unable to open database file": a missing folder, a
// folder or file the service's user may not write, or a folder in place
// of the file.
func openProblem(path string) string {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return path + " is a folder"
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "its folder " + dir + " does not exist"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied: the service's user may not enter " + dir
	case err != nil:
		return err.Error()
	case !fi.IsDir():
		return dir + " is not a folder"
	}
	if err := writable(path); err != nil {
		return err.Error()
	}
	return "unknown cause"
}

// writable checks that the service's user may write path's folder (SQLite
// creates the database and its -wal and -shm files there) and path itself
// when it exists, and says "permission denied" when not.
func writable(path string) error {
	dir := filepath.Dir(path)
	probe, err := os.CreateTemp(dir, ".hotline-write-check-*")
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("permission denied: the service's user (uid %d) may not create files in %s, where SQLite keeps the database and its -wal and -shm files",
				os.Getuid(), dir)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("its folder %s does not exist", dir)
		}
		return fmt.Errorf("cannot create files in %s: %w", dir, err)
	}
	_ = probe.Close()
	_ = os.Remove(probe.Name())
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	switch {
	case err == nil:
		return f.Close()
	case errors.Is(err, fs.ErrNotExist):
		return nil // created on open
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("permission denied: the service's user (uid %d) may not write the database file %s", os.Getuid(), path)
	default:
		return err
	}
}
