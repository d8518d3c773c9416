-- Audit rows name the actor's roles, and the access rules move out of the
-- schema into the service's one table (package hotline, access.go).
--
-- audit_log.version says how a row's hash is computed: 1 for rows written
-- before this version (their hash covers no role, and still verifies), 2
-- for rows that also hash role. audit_log is append-only, so ADD COLUMN
-- with a default is the way: it changes no stored row.

-- +goose Up

-- audit_log.role: the actor's roles at the time ("supervisor",
-- "supervisor,admin"); '' for system actors and for rows before version 2.
ALTER TABLE audit_log ADD COLUMN role TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version IN (1, 2));

-- Who may approve an extension is decided by the access table from the
-- users' roles; this trigger read roles from the roster, a second source.
DROP TRIGGER promise_extensions_by_supervisor;

-- +goose Down
-- +goose StatementBegin
CREATE TRIGGER promise_extensions_by_supervisor
BEFORE INSERT ON promise_extensions
WHEN (SELECT role FROM agents WHERE id = NEW.approved_by) IS NOT 'supervisor'
BEGIN
    SELECT RAISE(ABORT, 'promise_extensions.approved_by must be a supervisor');
END;
-- +goose StatementEnd
ALTER TABLE audit_log DROP COLUMN version;
ALTER TABLE audit_log DROP COLUMN role;
