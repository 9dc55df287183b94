-- The first words of each relayed or sent message (at most 80 characters), so a citizen's
-- reply or reaction to it can show what it refers to (issue #9). Personal data: purged
-- with the links by the retention setting, erased with the citizen.
ALTER TABLE message_link ADD COLUMN excerpt TEXT NOT NULL DEFAULT '';
CREATE INDEX message_link_wa ON message_link (whatsapp_id);
