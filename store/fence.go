package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// Fence is a lease holder's claim on the writes its lease guards: the
// lease's name and the fencing token the holder was given. A context made
// with WithFence carries it, and every write made on such a context (the
// calls, the dials and the work the holder runs) is checked against the
// newest token the database has seen for that lease, in the write's own
// transaction: an instance that lost its lease writes nothing more, even
// before it notices. Writes on a context without a fence (the API a
// standby serves as well) are not checked.
type Fence struct {
	Lease string
	Token int64
}

type fenceKey struct{}

// WithFence returns ctx carrying f; the store checks it on every write.
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceOf returns the fence ctx carries, if any.
func FenceOf(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
}

// LeaseFence is a lease as the database knows it.
type LeaseFence struct {
	Lease    string
	Token    int64
	Holder   string
	RaisedAt time.Time
}

// raiseFenceSQL sets lease's fence to a newer token and its holder; it
// reads and writes lease_fences, and changes nothing when the stored token
// is newer (the trigger refuses a token going back; the WHERE keeps it
// from being tried).
const raiseFenceSQL = `
INSERT INTO lease_fences (lease, token, holder, raised_ms) VALUES (?, ?, ?, ?)
ON CONFLICT (lease) DO UPDATE SET token = excluded.token, holder = excluded.holder, raised_ms = excluded.raised_ms
WHERE excluded.token >= lease_fences.token`

// RaiseFence records that holder took lease with token: from now on the
// writes fenced with an older token are refused. A token older than the
// stored one is a Conflict (a newer holder raised it first). A new holder
// raises the fence before it acts, and before it reconciles.
func (db *DB) RaiseFence(ctx context.Context, lease string, token int64, holder string, at time.Time) error {
	const op = "store.RaiseFence"
	res, err := db.writer.DB.ExecContext(ctx, raiseFenceSQL, lease, token, holder, hotline.UnixMilli(at))
	if err = db.noteWrite(err); err != nil {
		return wrapErr(op, "lease "+lease, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		cur, _ := db.GetLeaseFence(ctx, lease)
		return hotline.Errorf(hotline.KindConflict, op, "lease %q: token %d is older than %d, raised by %s", lease, token, cur.Token, cur.Holder)
	}
	return nil
}

// getLeaseFenceSQL reads one lease's fence from lease_fences.
const getLeaseFenceSQL = `SELECT token, holder, raised_ms FROM lease_fences WHERE lease = ?`

// GetLeaseFence reads lease's fence; NotFound when no holder raised it yet.
func (db *DB) GetLeaseFence(ctx context.Context, lease string) (LeaseFence, error) {
	var row struct {
		Token  int64  `db:"token"`
		Holder string `db:"holder"`
		Raised int64  `db:"raised_ms"`
	}
	if err := db.reader.GetContext(ctx, &row, getLeaseFenceSQL, lease); err != nil {
		return LeaseFence{}, wrapErr("store.GetLeaseFence", "lease "+lease, err)
	}
	return LeaseFence{Lease: lease, Token: row.Token, Holder: row.Holder, RaisedAt: hotline.FromUnixMilli(row.Raised)}, nil
}

// fenceTokenSQL reads the newest token of a lease from lease_fences,
// inside the write it guards.
const fenceTokenSQL = `SELECT token FROM lease_fences WHERE lease = ?`

// checkFence refuses the write of tx when ctx carries a fence older than
// the database's: another instance has taken the lease since. stmt is
// fenceTokenSQL prepared on the writer, or nil to prepare it in tx.
func checkFence(ctx context.Context, tx *sqlx.Tx, stmt *sqlx.Stmt) error {
	f, ok := FenceOf(ctx)
	if !ok {
		return nil
	}
	var token int64
	var err error
	if s := inTx(ctx, tx, stmt); s != nil {
		err = s.GetContext(ctx, &token, f.Lease)
	} else {
		err = tx.GetContext(ctx, &token, fenceTokenSQL, f.Lease)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return hotline.Errorf(hotline.KindConflict, "store.fence", "lease %q was never raised in this database: write refused", f.Lease)
	case err != nil:
		return wrapErr("store.fence", "lease "+f.Lease, err)
	case token != f.Token:
		return hotline.Errorf(hotline.KindConflict, "store.fence",
			"lease %q is held by a newer holder (token %d, ours %d): write refused", f.Lease, token, f.Token)
	}
	return nil
}

// databaseIDSQL reads the database's identity from database_identity.
const databaseIDSQL = `SELECT id FROM database_identity WHERE only_row = 1`

// DatabaseID is the identity the database got when its schema was made:
// the same for every instance that shares it, and different for a copy
// started empty.
func (db *DB) DatabaseID(ctx context.Context) (string, error) {
	var id string
	if err := db.reader.GetContext(ctx, &id, databaseIDSQL); err != nil {
		return "", wrapErr("store.DatabaseID", "database identity", err)
	}
	return id, nil
}

// writer is the one connection pool that writes. Every write of the store
// passes through it, so it is where a write fenced by ctx is checked in
// its own transaction, and where a failing disk is noticed (noteWrite).
type writer struct {
	*sqlx.DB
	db *DB
}

func newWriter(pool *sqlx.DB, db *DB) writer { return writer{DB: pool, db: db} }

// ExecContext runs one statement, inside a transaction with the fence
// check when ctx carries a fence.
func (w writer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	kind := w.db.kindOf(query)
	if _, ok := FenceOf(ctx); !ok {
		if kind != "" {
			defer w.db.observeWrite(kind, time.Now())
		}
		res, err := w.DB.ExecContext(ctx, query, args...)
		return res, w.db.noteWrite(err)
	}
	var res sql.Result
	stmt := w.db.fencedWrite(ctx, query)
	err := w.db.inWriteTxAs(ctx, kind, func(tx *sqlx.Tx) (err error) {
		if s := inTx(ctx, tx, stmt); s != nil {
			res, err = s.ExecContext(ctx, args...)
		} else {
			res, err = tx.ExecContext(ctx, query, args...)
		}
		return err
	})
	return res, err
}

// NamedExecContext is ExecContext with named parameters.
func (w writer) NamedExecContext(ctx context.Context, query string, arg any) (sql.Result, error) {
	kind := w.db.kindOf(query)
	if _, ok := FenceOf(ctx); !ok {
		if kind != "" {
			defer w.db.observeWrite(kind, time.Now())
		}
		res, err := w.DB.NamedExecContext(ctx, query, arg)
		return res, w.db.noteWrite(err)
	}
	var res sql.Result
	err := w.db.inWriteTxAs(ctx, kind, func(tx *sqlx.Tx) (err error) {
		res, err = tx.NamedExecContext(ctx, query, arg)
		return err
	})
	return res, err
}

// NamedGetContext runs one statement with named parameters that returns a
// row (INSERT … RETURNING).
func (w writer) NamedGetContext(ctx context.Context, dest any, query string, arg any) error {
	query, args, err := w.BindNamed(query, arg)
	if err != nil {
		return err
	}
	return w.GetContext(ctx, dest, query, args...)
}

// GetContext runs one statement that returns a row (INSERT … RETURNING).
func (w writer) GetContext(ctx context.Context, dest any, query string, args ...any) error {
	kind := w.db.kindOf(query)
	if _, ok := FenceOf(ctx); !ok {
		if kind != "" {
			defer w.db.observeWrite(kind, time.Now())
		}
		return w.db.noteWrite(w.DB.GetContext(ctx, dest, query, args...))
	}
	stmt := w.db.fencedWrite(ctx, query)
	return w.db.inWriteTxAs(ctx, kind, func(tx *sqlx.Tx) error {
		if s := inTx(ctx, tx, stmt); s != nil {
			return s.GetContext(ctx, dest, args...)
		}
		return tx.GetContext(ctx, dest, query, args...)
	})
}
