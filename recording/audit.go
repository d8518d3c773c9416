package recording

import (
	"context"
	"fmt"
	"io"

	"hotline"
	"hotline/store"
)

// VerifyAudit checks the audit log's hash chain for `hotline audit verify`
// and writes one line to out: "audit log intact" or "audit log broken at
// entry N". It returns an error of kind Conflict naming the entry when the
// chain is broken (the CLI exits non-zero), and the store's error when it
// cannot read. brokenAt is 0 when the chain is intact.
func VerifyAudit(ctx context.Context, db *store.DB, out io.Writer) (brokenAt int64, err error) {
	brokenAt, err = db.VerifyAudit(ctx)
	if err != nil {
		return 0, err
	}
	if brokenAt == 0 {
		_, err = fmt.Fprintln(out, "audit log intact")
		return 0, err
	}
	_, _ = fmt.Fprintf(out, "audit log broken at entry %d\n", brokenAt)
	return brokenAt, hotline.Errorf(hotline.KindConflict, "recording.VerifyAudit",
		"audit log broken at entry %d: it or the entry before it was changed, inserted or removed", brokenAt)
}

func itoa(n int64) string { return fmt.Sprint(n) }
