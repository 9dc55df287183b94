-- Counters in slots: with one row per (day, name, label) every transaction that counts
-- (most of them) held the same row lock until its commit had reached the disk, so the
-- replicas' transactions queued behind one another on it. Each connection now adds to
-- its own slot (pg_backend_pid() % 16); readers sum the slots.
ALTER TABLE counter ADD COLUMN slot SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE counter DROP CONSTRAINT counter_pkey;
ALTER TABLE counter ADD PRIMARY KEY (day, name, label, slot);
