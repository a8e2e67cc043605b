-- 0004: the replicas of ripcord serve that share this file, and named
-- mutexes (ripcord.ClusterStore).

-- One row per replica that ever beat (a replica's ID is unique per process
-- start). Seen and expires are store times; a replica is live while it is
-- not leaving and the store's clock is before expires. Started is its
-- first heartbeat and never changes.
CREATE TABLE replicas (
	id            TEXT PRIMARY KEY CHECK (id <> ''),
	owner_host    TEXT NOT NULL CHECK (owner_host <> ''),
	owner_pid     INTEGER NOT NULL CHECK (owner_pid > 0),
	owner_started TEXT NOT NULL,
	addr          TEXT NOT NULL, -- '' when none
	started       TEXT NOT NULL,
	seen          TEXT NOT NULL,
	expires       TEXT NOT NULL,
	leaving       INTEGER NOT NULL CHECK (leaving IN (0, 1))
) STRICT, WITHOUT ROWID;

CREATE TRIGGER replicas_started_kept BEFORE UPDATE OF started ON replicas
WHEN NEW.started IS NOT OLD.started
BEGIN
	SELECT RAISE(ABORT, 'replicas: started is the first heartbeat and never changes');
END;

-- One row per mutex that was ever acquired. A released mutex keeps its
-- holder and expires at the moment of release; gen counts the releases
-- that changed what the mutex guards, so it only grows and the row is
-- never deleted (a deleted row would start again from 0).
CREATE TABLE mutexes (
	name    TEXT PRIMARY KEY CHECK (name <> ''),
	holder  TEXT NOT NULL CHECK (holder <> ''),
	gen     INTEGER NOT NULL CHECK (gen >= 0),
	expires TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TRIGGER mutexes_gen_forward BEFORE UPDATE OF gen ON mutexes
WHEN NEW.gen < OLD.gen
BEGIN
	SELECT RAISE(ABORT, 'mutexes: a generation never goes back');
END;

CREATE TRIGGER mutexes_no_delete BEFORE DELETE ON mutexes
BEGIN
	SELECT RAISE(ABORT, 'mutexes: a mutex row is never deleted, lest its generation start again');
END;
