-- Maintenance at run time (R18, issue 24): one row per scope that is suspended, read by
-- every relay twice a second. `scope` is '*' for the whole relay (every bank) or a
-- tenant's slug (one bank; slugs start with a letter, so they never read '*'). A row
-- whose `ends_at` has passed no longer counts; the first relay to notice deletes it and
-- audits the end. Turning maintenance off deletes the row.
CREATE TABLE maintenance (
    scope      TEXT PRIMARY KEY,
    message    TEXT,
    ends_at    BIGINT,
    started_at BIGINT NOT NULL
);
