-- Satisfaction answers after an agent closed the room (issue #4 §7). The comment is the
-- citizen's own words: personal data, kept with the conversation for export and erasure.
CREATE TABLE survey (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    department      TEXT NOT NULL DEFAULT '',
    score           INTEGER NOT NULL,
    comment         TEXT,
    answered_at     REAL NOT NULL
);
CREATE INDEX survey_answered ON survey (answered_at);
