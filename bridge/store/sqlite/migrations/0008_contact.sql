-- One row per contact, for the director's report (issue #10 §3). No message text and no
-- phone: conversation_id links it while the conversation exists; erasure and retention
-- set it to NULL and the statistics stay.
CREATE TABLE contact (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER REFERENCES conversation (id) ON DELETE SET NULL,
    phone_number_id TEXT NOT NULL,               -- which of our numbers was written to
    started_at      REAL NOT NULL,
    topic           TEXT NOT NULL DEFAULT '',
    outcome         TEXT,                        -- NULL while under way (core/contacts.py)
    department      TEXT NOT NULL DEFAULT '',
    priority        TEXT NOT NULL DEFAULT '',
    handed_off_at   REAL,
    room_opened_at  REAL,
    taken_at        REAL,
    first_answer_at REAL,                        -- the first agent message in the room
    closed_at       REAL,
    ended_at        REAL,
    survey_score    INTEGER
);
CREATE INDEX contact_started ON contact (started_at);
CREATE INDEX contact_conversation ON contact (conversation_id, id);
