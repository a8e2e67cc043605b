-- 0001: plan versions, executions and their append-only event logs.
--
-- Times are TEXT in UTC with microseconds, fixed width
-- (2006-01-02T15:04:05.000000Z), so that they sort as they compare and read
-- well in the sqlite3 shell. JSON is TEXT, kept byte for byte. Modes and
-- states are checked in Go, not here, so that a new one (failback) needs no
-- table rebuild.

CREATE TABLE plan_versions (
	hash    TEXT PRIMARY KEY,
	name    TEXT NOT NULL,
	source  BLOB NOT NULL, -- the YAML as applied
	created TEXT NOT NULL
) STRICT;

CREATE TABLE executions (
	id        TEXT PRIMARY KEY,
	plan_name TEXT NOT NULL,
	plan_hash TEXT NOT NULL REFERENCES plan_versions (hash),
	mode      TEXT NOT NULL,
	state     TEXT NOT NULL,
	started   TEXT NOT NULL,
	ended     TEXT,          -- NULL until the execution ends
	actor     TEXT NOT NULL,
	last_seq  INTEGER NOT NULL CHECK (last_seq >= 0),
	summary   TEXT           -- JSON; NULL when none
) STRICT;

-- ListExecutions: newest first, optionally by state or plan.
CREATE INDEX executions_started ON executions (started DESC, id DESC);
CREATE INDEX executions_state ON executions (state, started DESC, id DESC);
CREATE INDEX executions_plan ON executions (plan_name, started DESC, id DESC);

-- The primary key makes a duplicate seq impossible; the triggers below make
-- a gap, an update and a delete impossible, whatever the code does.
CREATE TABLE events (
	execution_id TEXT NOT NULL REFERENCES executions (id),
	seq          INTEGER NOT NULL CHECK (seq >= 1),
	at           TEXT NOT NULL,
	actor        TEXT NOT NULL,
	type         TEXT NOT NULL,
	data         TEXT,     -- JSON; NULL when empty
	PRIMARY KEY (execution_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER events_gapless BEFORE INSERT ON events
WHEN NEW.seq <> coalesce((SELECT max(seq) FROM events WHERE execution_id = NEW.execution_id), 0) + 1
BEGIN
	SELECT RAISE(ABORT, 'events: seq must follow the execution''s last event without a gap');
END;

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only: an event cannot be changed');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
	SELECT RAISE(ABORT, 'events are append-only: an event cannot be deleted');
END;
