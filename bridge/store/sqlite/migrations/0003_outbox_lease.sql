-- Outbox lanes are claimed under a lease (issue #8): a delivery holds its lane's head row
-- until it settles or the lease runs out; a settlement whose lease was taken is refused.
ALTER TABLE outbox ADD COLUMN lease TEXT;
ALTER TABLE outbox ADD COLUMN lease_until REAL;
