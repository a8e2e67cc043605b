-- 0003: API tokens, the audit log, and plan versions listed by plan.

-- A token is kept as the SHA-256 hash of its secret, never the secret. The
-- roles are checked here, unlike modes and states: a token with a role this
-- ripcord does not know must not exist (a new role means a table rebuild).
-- Created and revoked are store times; expires and revoked are NULL for
-- never and not revoked.
CREATE TABLE tokens (
	id      TEXT PRIMARY KEY CHECK (id <> ''),
	name    TEXT NOT NULL CHECK (name <> ''),
	role    TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'recovery', 'admin')),
	hash    BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
	created TEXT NOT NULL,
	expires TEXT,
	revoked TEXT
) STRICT;

-- ListTokens: oldest first.
CREATE INDEX tokens_created ON tokens (created, id);

-- A revoked token stays revoked, at the time it was first revoked.
CREATE TRIGGER tokens_revoked_once BEFORE UPDATE OF revoked ON tokens
WHEN OLD.revoked IS NOT NULL AND NEW.revoked IS NOT OLD.revoked
BEGIN
	SELECT RAISE(ABORT, 'tokens: a revoked token stays revoked, at the time it was first revoked');
END;

-- The audit log: seq numbers the entries 1, 2, 3, ... (the primary key
-- makes a duplicate impossible, the triggers a gap, an update and a
-- delete). Object, remote and detail are '' when empty.
CREATE TABLE audit (
	seq    INTEGER PRIMARY KEY CHECK (seq >= 1),
	at     TEXT NOT NULL,
	actor  TEXT NOT NULL CHECK (actor <> ''),
	action TEXT NOT NULL CHECK (action <> ''),
	object TEXT NOT NULL,
	remote TEXT NOT NULL,
	detail TEXT NOT NULL
) STRICT;

CREATE TRIGGER audit_gapless BEFORE INSERT ON audit
WHEN NEW.seq IS NOT coalesce((SELECT max(seq) FROM audit), 0) + 1
BEGIN
	SELECT RAISE(ABORT, 'audit: seq must follow the last entry without a gap');
END;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only: an entry cannot be changed');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only: an entry cannot be deleted');
END;

-- ListPlanVersions: newest first, of one plan or of all.
CREATE INDEX plan_versions_name ON plan_versions (name, created DESC, hash DESC);
CREATE INDEX plan_versions_created ON plan_versions (created DESC, hash DESC);
