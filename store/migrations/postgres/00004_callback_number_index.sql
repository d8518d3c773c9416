-- +goose Up
-- PostgreSQL form of ../00004_callback_number_index.sql.
CREATE INDEX callback_tasks_by_number ON callback_tasks (number, id);

-- +goose Down
DROP INDEX callback_tasks_by_number;
