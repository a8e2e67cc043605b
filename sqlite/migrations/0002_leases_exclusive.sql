-- 0002: execution leases (who drives an execution, under which fencing
-- epoch) and exclusive keys (no two live executions of the same thing).

-- Exclusive is NULL when the execution opts out (ripcord run
-- --allow-concurrent). The partial unique index lets at most one running or
-- paused execution hold a key, so racing creators (two processes on one
-- file) cannot both win, whatever the code does; an execution stops holding
-- its key when its state becomes terminal.
ALTER TABLE executions ADD COLUMN exclusive TEXT;

CREATE UNIQUE INDEX executions_exclusive_live ON executions (exclusive)
WHERE exclusive IS NOT NULL AND state IN ('running', 'paused');

-- One row per execution that was ever leased; none means epoch 0. The
-- epoch is the fencing token: it only grows, so the row is never deleted
-- (a deleted row would hand out epoch 1 again) and an update never lowers
-- it. A released lease keeps its row, expiring at the moment of release.
CREATE TABLE leases (
	execution_id  TEXT PRIMARY KEY REFERENCES executions (id),
	owner_host    TEXT NOT NULL CHECK (owner_host <> ''),
	owner_pid     INTEGER NOT NULL CHECK (owner_pid > 0),
	owner_started TEXT NOT NULL,
	epoch         INTEGER NOT NULL CHECK (epoch >= 1),
	acquired      TEXT NOT NULL, -- when this epoch began
	expires       TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TRIGGER leases_epoch_forward BEFORE UPDATE OF epoch ON leases
WHEN NEW.epoch < OLD.epoch
BEGIN
	SELECT RAISE(ABORT, 'leases: an epoch never goes back');
END;

CREATE TRIGGER leases_no_delete BEFORE DELETE ON leases
BEGIN
	SELECT RAISE(ABORT, 'leases: a lease row is never deleted, lest its epoch be handed out again');
END;
