-- Two indexes nothing reads, each written (and the outbox's also deleted from) for every
-- relayed message: outbox_due served the claim before lanes (0003) replaced it, and
-- message_link_wa (0006) repeats the first column of the table's own primary key
-- (whatsapp_id, rocketchat_id), which SQLite already searches by whatsapp_id.
DROP INDEX IF EXISTS outbox_due;
DROP INDEX IF EXISTS message_link_wa;
