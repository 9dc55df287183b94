-- Counters in slots: with one row per (day, name, label) every transaction that counts
-- (most of them) held the same row lock until its commit had reached the disk, so the
-- replicas' transactions queued behind one another on it. Each connection now adds to
-- its own slot (pg_backend_pid() % 16) in a table of its own; readers sum both tables.
-- Additive on purpose: during a rolling upgrade a replica of the previous release keeps
-- counting into `counter` with its own ON CONFLICT (day, name, label) until replaced.
CREATE TABLE counter_slot (
    day   TEXT NOT NULL,
    name  TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    slot  SMALLINT NOT NULL,
    value BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, name, label, slot)
);
