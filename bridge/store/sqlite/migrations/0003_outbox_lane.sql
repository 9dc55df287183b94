-- Outbox lanes (issue #8): one row per (conversation, destination) with pending work,
-- pointing at its head (oldest pending row). Claims scan due lanes, not every queued row,
-- and a lane is leased to one delivery at a time (until settled or `lease_until`).
-- Invariant: a lane row exists iff its lane has a pending row; head_id is the smallest
-- pending id; due_at is that row's next_attempt_at.
CREATE TABLE lane (
    conversation_id INTEGER NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    destination     TEXT NOT NULL CHECK (destination IN ('whatsapp', 'rocketchat')),
    head_id         INTEGER NOT NULL,
    due_at          REAL NOT NULL,
    lease           TEXT,                        -- '<owner>/<serial>' while a delivery holds it
    lease_until     REAL,
    PRIMARY KEY (conversation_id, destination)
) WITHOUT ROWID;
CREATE INDEX lane_due ON lane (due_at);

INSERT INTO lane (conversation_id, destination, head_id, due_at)
SELECT o.conversation_id, o.destination, o.id, o.next_attempt_at
FROM outbox AS o
WHERE o.state = 'pending'
  AND o.id = (SELECT MIN(h.id) FROM outbox AS h WHERE h.state = 'pending'
              AND h.conversation_id = o.conversation_id AND h.destination = o.destination);
