-- Lease fences and the database's identity, PostgreSQL form of
-- ../00018_instance_lease.sql.

-- +goose Up

CREATE TABLE database_identity (
    only_row   BIGINT PRIMARY KEY CHECK (only_row = 1),
    id         TEXT   NOT NULL CHECK (length(id) = 32),
    created_ms BIGINT NOT NULL CHECK (created_ms > 0)
);

INSERT INTO database_identity (only_row, id, created_ms)
VALUES (1, replace(gen_random_uuid()::text, '-', ''), (extract(epoch FROM clock_timestamp()) * 1000)::bigint);

CREATE TABLE lease_fences (
    lease     TEXT   PRIMARY KEY CHECK (length(lease) BETWEEN 1 AND 200),
    token     BIGINT NOT NULL CHECK (token > 0),
    holder    TEXT   NOT NULL CHECK (length(holder) BETWEEN 1 AND 200),
    raised_ms BIGINT NOT NULL CHECK (raised_ms > 0)
);

CREATE TRIGGER lease_fences_only_rise BEFORE UPDATE OF token ON lease_fences FOR EACH ROW
WHEN (NEW.token < OLD.token)
EXECUTE FUNCTION hotline_refuse('lease fence: a token never goes back');

-- +goose Down
DROP TABLE lease_fences;
DROP TABLE database_identity;
