-- +goose Up
-- Sticky routing looks up connected callbacks of a number, closed tasks
-- included; the partial unique index covers open tasks only.
CREATE INDEX callback_tasks_by_number ON callback_tasks (number, id);

-- +goose Down
DROP INDEX callback_tasks_by_number;
