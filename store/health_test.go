package store

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"hotline"
)

// integrityOK checks the file with SQLite's own integrity check.
func (f fixture) integrityOK(t *testing.T) {
	t.Helper()
	var result string
	require.NoError(t, f.db.reader.GetContext(f.ctx, &result, `PRAGMA integrity_check`))
	require.Equal(t, "ok", result)
}

func TestStorageFailuresRefuseWritesWholeSayWhyAndMakeTheDatabaseNotReady(t *testing.T) {
	t.Parallel()
	sqliteOnly(t, "the failures are made with SQLite's pragmas (page count, query_only) on the file")
	tests := []struct {
		name   string
		break_ string // run on the writer's connection
		fix    string
		want   string // in the error
	}{
		// max_page_count stops the file growing as a full disk does: SQLite
		// answers SQLITE_FULL.
		{"disk full", `PRAGMA max_page_count = %d`, `PRAGMA max_page_count = 1000000`, "is full"},
		{"read-only database", `PRAGMA query_only = 1`, `PRAGMA query_only = 0`, "is read-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			require.NoError(t, f.db.CreateCall(f.ctx, testCall("c0", "13800138000", t0)))
			var pages int
			require.NoError(t, f.db.writer.DB.GetContext(f.ctx, &pages, `PRAGMA page_count`))
			breakSQL := tt.break_
			if tt.name == "disk full" {
				breakSQL = fmt.Sprintf(breakSQL, pages)
			}
			_, err := f.db.writer.DB.ExecContext(f.ctx, breakSQL)
			require.NoError(t, err)

			// Writes fail, sooner or later for a full disk (the last page
			// has some room), each refused whole.
			var failed error
			stored := 1
			for i := 1; i < 900 && failed == nil; i++ {
				id := fmt.Sprintf("c%d", i)
				if failed = f.db.CreateCall(f.ctx, testCall(id, "13800138000", t0)); failed == nil {
					stored++
				}
			}
			require.Error(t, failed)
			require.Equal(t, hotline.KindUnavailable, hotline.KindOf(failed))
			require.True(t, hotline.IsRetryable(failed))
			require.ErrorContains(t, failed, tt.want)
			require.ErrorContains(t, failed, f.cfg.Path)
			if tt.name == "read-only database" { // a full disk may still have room in a table's page
				_, _, err = f.db.AddMissedCall(f.ctx, MissedCall{CallID: "c0", Number: "13800138000", MissedAt: t0, Deadline: t0.Add(time.Hour)})
				require.ErrorContains(t, err, tt.want, "a transaction too")
			}

			err = f.db.Ping(f.ctx)
			require.ErrorContains(t, err, "writes fail since")
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, hotline.KindUnavailable, hotline.KindOf(err))

			// Nothing is damaged and nothing half-written: the calls stored
			// before are all there, readable, and no task was made.
			f.integrityOK(t)
			calls, err := f.db.ListCalls(f.ctx, CallFilter{Limit: 1000})
			require.NoError(t, err)
			require.Len(t, calls, stored)
			task, err := f.db.GetTask(f.ctx, 1)
			require.Equal(t, hotline.KindNotFound, hotline.KindOf(err), "%+v", task)

			// Fixed, the next check finds writes succeed again.
			_, err = f.db.writer.DB.ExecContext(f.ctx, tt.fix)
			require.NoError(t, err)
			require.NoError(t, f.db.Ping(f.ctx))
			require.NoError(t, f.db.CreateCall(f.ctx, testCall("after", "13800138000", t0)))
			f.integrityOK(t)
		})
	}
}

// The permission cases need a user the file system refuses; root is
// refused nothing, so as root the test runs itself again as nobody.
const permissionDirEnv = "HOTLINE_STORE_TEST_PERMISSION_DIR"

func TestOpenSaysPermissionDeniedForWhatTheServiceMayNotWrite(t *testing.T) {
	sqliteOnly(t, "file permissions of the database's folder")
	base := os.Getenv(permissionDirEnv)
	if base == "" {
		t.Parallel()
		base = permissionCases(t)
		if os.Getuid() == 0 {
			runAsNobody(t, base)
			return
		}
	}
	tests := []struct {
		name, path string
	}{
		{"a folder the service may not write", filepath.Join(base, "ro", "hotline.db")},
		{"a folder it may not create", filepath.Join(base, "ro", "sub", "hotline.db")},
		{"a database file it may not write", filepath.Join(base, "rw", "hotline.db")},
	}
	for _, tt := range tests {
		_, err := Open(t.Context(), Config{Path: tt.path, BusyTimeout: time.Second}, nil)
		require.Error(t, err, tt.name)
		require.ErrorContains(t, err, "permission denied", tt.name)
		require.NotContains(t, err.Error(), "no such file", tt.name)
		require.ErrorContains(t, err, tt.path, tt.name)
	}
}

// permissionCases makes, under a new folder, "ro" (a folder the test's
// user, or nobody when run as root, may not write) and "rw" (a folder it
// may write, holding a database file it may not).
func permissionCases(t *testing.T) string {
	base, err := os.MkdirTemp("", "hotline-store-perm-")
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = os.Chmod(filepath.Join(base, "ro"), 0o755)
		_ = os.Chmod(filepath.Join(base, "rw"), 0o755)
		_ = os.RemoveAll(base)
	})
	require.NoError(t, os.Chmod(base, 0o755))
	ro, rw := filepath.Join(base, "ro"), filepath.Join(base, "rw")
	require.NoError(t, os.Mkdir(ro, 0o755))
	require.NoError(t, os.Mkdir(rw, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(rw, "hotline.db"), nil, 0o444))
	if os.Getuid() == 0 {
		require.NoError(t, os.Chown(rw, 65534, 65534)) // nobody's folder; the file stays root's
	} else {
		require.NoError(t, os.Chmod(ro, 0o555))
	}
	return base
}

// runAsNobody runs this test again in a copy of the test binary as user
// nobody, on the cases under base.
func runAsNobody(t *testing.T, base string) {
	self, err := os.Executable()
	require.NoError(t, err)
	bin := filepath.Join(base, "store.test")
	copyFile(t, self, bin)
	cmd := exec.CommandContext(t.Context(), bin, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), permissionDirEnv+"="+base)
	cmd.Dir = base
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "as nobody:\n%s", out)
	require.Contains(t, string(out), "--- PASS: "+t.Name())
	t.Logf("as nobody:\n%s", out)
}

func copyFile(t *testing.T, from, to string) {
	in, err := os.Open(from)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
}
