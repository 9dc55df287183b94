-- The bridge's tables on PostgreSQL: the same data as the SQLite migrations 0001-0008, in
-- one step. Times are epoch seconds (double precision), as in SQLite, so the core sees
-- the same values from either backend.

CREATE TABLE conversation (
    id              BIGSERIAL PRIMARY KEY,
    phone_number_id TEXT NOT NULL,
    wa_id           TEXT NOT NULL,
    profile_name    TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL DEFAULT 'bot',
    department      TEXT NOT NULL DEFAULT '',
    visitor_token   TEXT,
    room_id         TEXT,
    bot_state       TEXT,
    last_citizen_at DOUBLE PRECISION,
    held_since      DOUBLE PRECISION,
    last_wamid      TEXT,
    updated_at      DOUBLE PRECISION NOT NULL,
    CONSTRAINT conversation_state_check CHECK (state IN ('bot', 'waiting', 'agent')),
    UNIQUE (phone_number_id, wa_id)
);
CREATE INDEX conversation_room ON conversation (room_id) WHERE room_id IS NOT NULL;
CREATE INDEX conversation_idle ON conversation (updated_at) WHERE room_id IS NULL;

CREATE TABLE seen_event (
    source      TEXT NOT NULL,
    external_id TEXT NOT NULL,
    seen_at     DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (source, external_id)
);
CREATE INDEX seen_event_at ON seen_event (seen_at);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    destination     TEXT NOT NULL CHECK (destination IN ('whatsapp', 'rocketchat')),
    command         TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'held', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    last_error      TEXT,
    created_at      DOUBLE PRECISION NOT NULL
);
CREATE INDEX outbox_lane ON outbox (state, conversation_id, destination, id);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE TABLE lane (
    conversation_id BIGINT NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    destination     TEXT NOT NULL CHECK (destination IN ('whatsapp', 'rocketchat')),
    head_id         BIGINT NOT NULL,
    due_at          DOUBLE PRECISION NOT NULL,
    lease           TEXT,                        -- '<owner>/<serial>' while a delivery holds it
    lease_until     DOUBLE PRECISION,
    PRIMARY KEY (conversation_id, destination)
);
CREATE INDEX lane_due ON lane (due_at);

CREATE TABLE message_link (
    whatsapp_id     TEXT NOT NULL,
    rocketchat_id   TEXT NOT NULL,
    conversation_id BIGINT NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    created_at      DOUBLE PRECISION NOT NULL,
    excerpt         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (whatsapp_id, rocketchat_id)
);
CREATE INDEX message_link_rc ON message_link (rocketchat_id);
CREATE INDEX message_link_at ON message_link (created_at);

CREATE TABLE counter (
    day   TEXT NOT NULL,
    name  TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    value BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, name, label)
);

CREATE TABLE rejected_payload (
    id          BIGSERIAL PRIMARY KEY,
    source      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    body        BYTEA NOT NULL,
    received_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE survey (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    department      TEXT NOT NULL DEFAULT '',
    score           INTEGER NOT NULL,
    comment         TEXT,
    answered_at     DOUBLE PRECISION NOT NULL
);
CREATE INDEX survey_answered ON survey (answered_at);

CREATE TABLE contact (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT REFERENCES conversation (id) ON DELETE SET NULL,
    phone_number_id TEXT NOT NULL,
    started_at      DOUBLE PRECISION NOT NULL,
    topic           TEXT NOT NULL DEFAULT '',
    outcome         TEXT,
    department      TEXT NOT NULL DEFAULT '',
    priority        TEXT NOT NULL DEFAULT '',
    handed_off_at   DOUBLE PRECISION,
    room_opened_at  DOUBLE PRECISION,
    taken_at        DOUBLE PRECISION,
    first_answer_at DOUBLE PRECISION,
    closed_at       DOUBLE PRECISION,
    ended_at        DOUBLE PRECISION,
    survey_score    INTEGER
);
CREATE INDEX contact_started ON contact (started_at);
CREATE INDEX contact_conversation ON contact (conversation_id, id);

CREATE TABLE audit (
    id       BIGSERIAL PRIMARY KEY,
    at       DOUBLE PRECISION NOT NULL,
    operator TEXT NOT NULL,
    action   TEXT NOT NULL,
    subject  TEXT NOT NULL DEFAULT '',
    detail   TEXT NOT NULL DEFAULT ''
);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

CREATE TABLE secret (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
