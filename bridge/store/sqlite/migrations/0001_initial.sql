-- Conversations, webhook dedupe, the outbox and the WhatsApp <-> Rocket.Chat message map.

CREATE TABLE conversation (
    id              INTEGER PRIMARY KEY,
    phone_number_id TEXT NOT NULL,               -- our WhatsApp business number (Graph id)
    wa_id           TEXT NOT NULL,               -- the citizen's WhatsApp id: digits, no '+'
    profile_name    TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL DEFAULT 'bot' CHECK (state IN ('bot', 'waiting', 'agent')),
    department      TEXT NOT NULL DEFAULT '',
    visitor_token   TEXT,                        -- as returned by Rocket.Chat (it may swap it)
    room_id         TEXT,                        -- the open livechat room, if any
    bot_state       TEXT,                        -- JSON owned by the bot engine
    last_citizen_at REAL,                        -- opens WhatsApp's 24 h service window
    updated_at      REAL NOT NULL,
    UNIQUE (phone_number_id, wa_id)
);
CREATE INDEX conversation_room ON conversation (room_id) WHERE room_id IS NOT NULL;

CREATE TABLE seen_event (                        -- durable dedupe of webhook deliveries
    source      TEXT NOT NULL,                   -- 'whatsapp' | 'rocketchat' | 'status'
    external_id TEXT NOT NULL,
    seen_at     REAL NOT NULL,
    PRIMARY KEY (source, external_id)
) WITHOUT ROWID;

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    destination     TEXT NOT NULL CHECK (destination IN ('whatsapp', 'rocketchat')),
    command         TEXT NOT NULL,               -- JSON of a core command
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error      TEXT,
    created_at      REAL NOT NULL
);
CREATE INDEX outbox_lane ON outbox (state, conversation_id, destination, id);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);

CREATE TABLE message_link (                      -- which WhatsApp message became which RC message
    whatsapp_id     TEXT NOT NULL,
    rocketchat_id   TEXT NOT NULL,
    conversation_id INTEGER NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    created_at      REAL NOT NULL,
    PRIMARY KEY (whatsapp_id, rocketchat_id)
) WITHOUT ROWID;
CREATE INDEX message_link_rc ON message_link (rocketchat_id);

CREATE TABLE counter (                           -- statistics the service asks for (no personal data)
    day    TEXT NOT NULL,                        -- YYYY-MM-DD (UTC)
    name   TEXT NOT NULL,
    label  TEXT NOT NULL DEFAULT '',
    value  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, name, label)
) WITHOUT ROWID;

CREATE TABLE rejected_payload (                  -- signed but unusable bodies, kept for audit
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    reason      TEXT NOT NULL,
    body        BLOB NOT NULL,
    received_at REAL NOT NULL
);
