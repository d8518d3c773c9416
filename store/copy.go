package store

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"

	"hotline"
)

// Moving a SQLite database into PostgreSQL (`hotline migrate -from FILE -to
// URL`): both are brought to the binary's schema version, then every row of
// every table is copied with its ids, table by table in foreign-key order,
// in batches, in one transaction on the target, so the target ends either
// empty or whole. The target's triggers are off while rows arrive (the rows
// were checked when first written; an old row may hold what a later
// trigger refuses, e.g. a referral outcome of ''), then agent_days and
// call_leg_lag are counted again from the rows, the sequences are moved
// past the copied ids, and the copy is checked: the same count of rows in
// every table, and the audit chain verifying.

// derivedTables are filled on the target by its migrations or from other
// rows, not copied row by row.
var derivedTables = []string{"goose_db_version", "agent_days", "agent_months", "call_leg_lag", "report_zone", "database_identity"}

// copyBatch is how many rows one INSERT carries at most.
const copyBatch = 500

// TableCount is one table's rows in the source and the target of a copy.
type TableCount struct {
	Table          string
	Source, Target int64
}

// CopyReport says what CopyTo copied.
type CopyReport struct {
	Tables []TableCount
	// AuditEntries is the length of the audit chain that verified on the
	// target.
	AuditEntries int64
}

// targetTablesSQL reads the target's tables and, for each, the tables its
// foreign keys reference, from PostgreSQL's catalog.
const targetTablesSQL = `
SELECT c.relname AS name, coalesce(string_agg(DISTINCT r.relname, ',') FILTER (WHERE r.relname <> c.relname), '') AS refs
FROM pg_class c
LEFT JOIN pg_constraint f ON f.conrelid = c.oid AND f.contype = 'f'
LEFT JOIN pg_class r ON r.oid = f.confrelid
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
GROUP BY c.relname ORDER BY c.relname`

// tableColumnsSQL reads a target table's columns in order.
const tableColumnsSQL = `
SELECT column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`

// identityColumnsSQL reads the target's identity columns.
const identityColumnsSQL = `
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name`

// CopyTo copies every row of db, a SQLite database, into target, a new
// PostgreSQL database: both are migrated first; a target that holds any
// row already is refused (Conflict) and left as it was.
func (db *DB) CopyTo(ctx context.Context, target *DB) (CopyReport, error) {
	const op = "store.CopyTo"
	if db.dialect != sqliteDialect || target.dialect != postgresDialect {
		return CopyReport{}, hotline.Errorf(hotline.KindInvalid, op, "copy from a SQLite file into a PostgreSQL database, not %s into %s",
			db.dialect, target.dialect)
	}
	for _, d := range []*DB{db, target} {
		if _, err := d.Migrate(ctx); err != nil {
			return CopyReport{}, err
		}
	}
	tables, err := target.copyOrder(ctx)
	if err != nil {
		return CopyReport{}, wrapErr(op, target.path, err)
	}
	var report CopyReport
	err = target.inWriteTx(ctx, func(tx *sqlx.Tx) error {
		for _, t := range tables {
			var n int64
			if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM `+t); err != nil {
				return err
			}
			if n > 0 {
				return hotline.Errorf(hotline.KindConflict, op,
					"%s is not empty (table %s has %d rows): copy into a new database", target.path, t, n)
			}
		}
		if err := copyIdentity(ctx, db, tx); err != nil {
			return err
		}
		for _, t := range tables {
			count, err := copyTable(ctx, db, tx, t)
			if err != nil {
				return fmt.Errorf("table %s: %w", t, err)
			}
			report.Tables = append(report.Tables, count)
		}
		if err := resetSequences(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, recountLegLagSQL); err != nil {
			return fmt.Errorf("call_leg_lag: %w", err)
		}
		return recountDays(ctx, tx)
	})
	if err != nil {
		return CopyReport{}, wrapErr(op, db.path+" into "+target.path, err)
	}
	for i, c := range report.Tables {
		if err := target.reader.GetContext(ctx, &report.Tables[i].Target, `SELECT count(*) FROM `+c.Table); err != nil {
			return report, wrapErr(op, c.Table, err)
		}
		if report.Tables[i].Target != c.Source {
			return report, hotline.Errorf(hotline.KindInternal, op, "table %s: %d rows in %s, %d in %s",
				c.Table, c.Source, db.path, report.Tables[i].Target, target.path)
		}
	}
	brokenAt, err := target.VerifyAudit(ctx)
	if err != nil {
		return report, err
	}
	if brokenAt != 0 {
		return report, hotline.Errorf(hotline.KindInternal, op, "the audit chain of %s breaks at entry %d after the copy", target.path, brokenAt)
	}
	if err := target.reader.GetContext(ctx, &report.AuditEntries, `SELECT count(*) FROM audit_log`); err != nil {
		return report, wrapErr(op, "audit_log", err)
	}
	return report, nil
}

// copyOrder lists the target's tables to copy, each after the tables its
// foreign keys reference.
func (db *DB) copyOrder(ctx context.Context) ([]string, error) {
	var rows []struct {
		Name string `db:"name"`
		Refs string `db:"refs"`
	}
	if err := db.reader.SelectContext(ctx, &rows, targetTablesSQL); err != nil {
		return nil, err
	}
	refs := map[string][]string{}
	for _, r := range rows {
		if slices.Contains(derivedTables, r.Name) {
			continue
		}
		refs[r.Name] = nil
		if r.Refs != "" {
			refs[r.Name] = strings.Split(r.Refs, ",")
		}
	}
	var order []string
	done := map[string]bool{}
	var visit func(t string, path []string) error
	visit = func(t string, path []string) error {
		if done[t] {
			return nil
		}
		if slices.Contains(path, t) {
			return fmt.Errorf("foreign keys go round: %s", strings.Join(append(path, t), " → "))
		}
		for _, r := range refs[t] {
			if _, ok := refs[r]; ok {
				if err := visit(r, append(path, t)); err != nil {
					return err
				}
			}
		}
		done[t] = true
		order = append(order, t)
		return nil
	}
	names := make([]string, 0, len(refs))
	for t := range refs {
		names = append(names, t)
	}
	slices.Sort(names)
	for _, t := range names {
		if err := visit(t, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// copyIdentity gives the target the source's identity and report zone:
// it is the same database, moved.
func copyIdentity(ctx context.Context, from *DB, tx *sqlx.Tx) error {
	var id struct {
		ID        string `db:"id"`
		CreatedMs int64  `db:"created_ms"`
	}
	if err := from.reader.GetContext(ctx, &id, `SELECT id, created_ms FROM database_identity WHERE only_row = 1`); err != nil {
		return fmt.Errorf("read the identity of %s: %w", from.path, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE database_identity SET id = ?, created_ms = ? WHERE only_row = 1`, id.ID, id.CreatedMs); err != nil {
		return err
	}
	var zone struct {
		Name     string `db:"name"`
		OffsetMs int64  `db:"offset_ms"`
	}
	if err := from.reader.GetContext(ctx, &zone, reportZoneSQL); err != nil {
		return fmt.Errorf("read the report zone of %s: %w", from.path, err)
	}
	_, err := tx.ExecContext(ctx, setReportZoneSQL, zone.Name, zone.OffsetMs)
	return err
}

// copyTable copies every row of table from the source into tx, in
// batches, with the table's triggers off.
func copyTable(ctx context.Context, from *DB, tx *sqlx.Tx, table string) (TableCount, error) {
	count := TableCount{Table: table}
	var cols []string
	if err := tx.SelectContext(ctx, &cols, tableColumnsSQL, table); err != nil {
		return count, err
	}
	if _, err := tx.ExecContext(ctx, `ALTER TABLE `+table+` DISABLE TRIGGER USER`); err != nil {
		return count, err
	}
	// The source is read in one snapshot, in its rows' order (rowid, which
	// callback_task_calls keeps as a column on PostgreSQL).
	rows, err := from.reader.QueryxContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+table+` ORDER BY rowid`)
	if err != nil {
		return count, fmt.Errorf("read %s: %w", from.path, err)
	}
	defer rows.Close()
	batch := max(1, min(copyBatch, 60000/len(cols)))
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	var args []any
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		n := len(args) / len(cols)
		values := strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (`+strings.Join(cols, ", ")+`) VALUES `+values, args...); err != nil {
			return err
		}
		count.Source += int64(n)
		args = args[:0]
		return nil
	}
	for rows.Next() {
		vals, err := rows.SliceScan()
		if err != nil {
			return count, err
		}
		args = append(args, vals...)
		if len(args) >= batch*len(cols) {
			if err := flush(); err != nil {
				return count, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return count, err
	}
	if err := flush(); err != nil {
		return count, err
	}
	_, err = tx.ExecContext(ctx, `ALTER TABLE `+table+` ENABLE TRIGGER USER`)
	return count, err
}

// resetSequences moves each identity column's sequence past the ids the
// copy brought, so the next row the service writes gets a new one.
func resetSequences(ctx context.Context, tx *sqlx.Tx) error {
	var idents []struct {
		Table  string `db:"table_name"`
		Column string `db:"column_name"`
	}
	if err := tx.SelectContext(ctx, &idents, identityColumnsSQL); err != nil {
		return err
	}
	for _, c := range idents {
		q := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%[1]s', '%[2]s'), coalesce(max(%[2]s), 0) + 1, false) FROM %[1]s`, c.Table, c.Column)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("sequence of %s.%s: %w", c.Table, c.Column, err)
		}
	}
	return nil
}

// PrintCopyReport writes r as `hotline migrate -from -to` shows it.
func PrintCopyReport(w io.Writer, r CopyReport) {
	for _, t := range r.Tables {
		fmt.Fprintf(w, "  %-28s %8d rows → %8d\n", t.Table, t.Source, t.Target)
	}
	fmt.Fprintf(w, "  audit chain: %d entries, verified\n", r.AuditEntries)
}
