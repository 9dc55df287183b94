-- An index nothing reads, written and deleted from for every relayed message: outbox_due
-- served claims before the lane table did. Dropping it changes no statement, so a replica
-- of the previous release keeps working beside this one during a rolling upgrade.
DROP INDEX IF EXISTS outbox_due;
