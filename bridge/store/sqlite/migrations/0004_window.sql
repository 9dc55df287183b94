-- The 24-hour window (issue #9): agent messages written after it closed are held ('held')
-- until the citizen writes again, and the conversation remembers since when.
-- SQLite cannot change a CHECK constraint in place: the outbox is rebuilt (same rows, ids
-- and indexes; the lane table points at ids, which are kept).
CREATE TABLE outbox_next (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    destination     TEXT NOT NULL CHECK (destination IN ('whatsapp', 'rocketchat')),
    command         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'held', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error      TEXT,
    created_at      REAL NOT NULL
);
INSERT INTO outbox_next (id, conversation_id, destination, command, state, attempts,
                         next_attempt_at, last_error, created_at)
SELECT id, conversation_id, destination, command, state, attempts, next_attempt_at,
       last_error, created_at
FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_next RENAME TO outbox;
CREATE INDEX outbox_lane ON outbox (state, conversation_id, destination, id);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

ALTER TABLE conversation ADD COLUMN held_since REAL;
