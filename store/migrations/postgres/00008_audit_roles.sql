-- Audit rows name the actor's roles, PostgreSQL form of
-- ../00008_audit_roles.sql.

-- +goose Up
ALTER TABLE audit_log ADD COLUMN role TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN version BIGINT NOT NULL DEFAULT 1 CHECK (version IN (1, 2));

DROP TRIGGER promise_extensions_by_supervisor ON promise_extensions;

-- +goose Down
CREATE TRIGGER promise_extensions_by_supervisor BEFORE INSERT ON promise_extensions FOR EACH ROW
EXECUTE FUNCTION promise_extensions_by_supervisor();
ALTER TABLE audit_log DROP COLUMN version;
ALTER TABLE audit_log DROP COLUMN role;
