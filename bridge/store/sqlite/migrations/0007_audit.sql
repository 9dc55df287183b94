-- The LGPD audit: who exported, erased, purged, set up or reported, when, and for which
-- hashed phone. Append-only: the triggers refuse any change or removal.
CREATE TABLE audit (
    id       INTEGER PRIMARY KEY,
    at       REAL NOT NULL,
    operator TEXT NOT NULL,
    action   TEXT NOT NULL,
    subject  TEXT NOT NULL DEFAULT '',           -- keyed hash of the phone, or ''
    detail   TEXT NOT NULL DEFAULT ''            -- counts and options, never personal data
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

-- Keys made once per database (the audit's phone hash key).
CREATE TABLE secret (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO secret (name, value) VALUES ('audit_key', randomblob(32));

CREATE INDEX seen_event_at ON seen_event (seen_at);
CREATE INDEX message_link_at ON message_link (created_at);
CREATE INDEX conversation_idle ON conversation (updated_at) WHERE room_id IS NULL;
