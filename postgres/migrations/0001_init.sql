-- 0001: plan versions, executions and their append-only event logs, leases,
-- exclusive keys, API tokens and the audit log: what the sqlite package's
-- migrations 0001 to 0003 hold, in PostgreSQL's terms.
--
-- Migrations run with search_path set to the store's schema alone, so the
-- functions below capture it (SET search_path FROM CURRENT) and find their
-- tables whatever the search_path of the session that fires them.
--
-- Times are timestamptz (UTC, microseconds). JSON (event data, summaries)
-- is text, kept byte for byte: json would be checked by a second parser,
-- jsonb rewritten; ripcord checks it is valid before it writes. Keys and
-- names are COLLATE "C", so that they sort and compare byte for byte as in
-- SQLite, whatever the database's collation. Modes and states are checked
-- in Go, not here, so that a new one needs no migration.

CREATE TABLE plan_versions (
	hash    text COLLATE "C" NOT NULL,
	name    text COLLATE "C" NOT NULL,
	source  bytea NOT NULL, -- the YAML as applied
	created timestamptz NOT NULL,
	CONSTRAINT plan_versions_pkey PRIMARY KEY (hash)
);

-- ListPlanVersions: newest first, of one plan or of all.
CREATE INDEX plan_versions_name ON plan_versions (name, created DESC, hash DESC);
CREATE INDEX plan_versions_created ON plan_versions (created DESC, hash DESC);

CREATE TABLE executions (
	id        text COLLATE "C" NOT NULL,
	plan_name text COLLATE "C" NOT NULL,
	plan_hash text COLLATE "C" NOT NULL,
	mode      text NOT NULL,
	state     text NOT NULL,
	started   timestamptz NOT NULL,
	ended     timestamptz,          -- NULL until the execution ends
	actor     text NOT NULL,
	last_seq  bigint NOT NULL CONSTRAINT executions_last_seq_check CHECK (last_seq >= 0),
	summary   text,                 -- JSON; NULL when none
	exclusive text COLLATE "C",     -- NULL when the execution opts out
	CONSTRAINT executions_pkey PRIMARY KEY (id),
	CONSTRAINT executions_plan_hash_fkey FOREIGN KEY (plan_hash) REFERENCES plan_versions (hash)
);

-- ListExecutions: newest first, optionally by state or plan.
CREATE INDEX executions_started ON executions (started DESC, id DESC);
CREATE INDEX executions_state ON executions (state, started DESC, id DESC);
CREATE INDEX executions_plan ON executions (plan_name, started DESC, id DESC);

-- At most one running or paused execution holds an exclusive key, so that
-- racing creators (replicas) cannot both win, whatever the code does; an
-- execution lets its key go when its state becomes terminal.
CREATE UNIQUE INDEX executions_exclusive_live ON executions (exclusive)
WHERE exclusive IS NOT NULL AND state IN ('running', 'paused');

-- The primary key makes a duplicate seq impossible; the triggers below make
-- a gap, an update and a delete impossible, whatever the code does.
CREATE TABLE events (
	execution_id text COLLATE "C" NOT NULL,
	seq          bigint NOT NULL CONSTRAINT events_seq_check CHECK (seq >= 1),
	at           timestamptz NOT NULL,
	actor        text NOT NULL,
	type         text NOT NULL,
	data         text,     -- JSON; NULL when empty
	CONSTRAINT events_pkey PRIMARY KEY (execution_id, seq),
	CONSTRAINT events_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES executions (id)
);

-- A row-level BEFORE trigger sees the rows its own statement inserted
-- before (a batch of events is one INSERT), and, in a second transaction,
-- only committed rows: a concurrent insert of the same seq is then refused
-- by the primary key, one of a later seq by this check.
CREATE FUNCTION events_gapless() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
	IF NEW.seq IS DISTINCT FROM coalesce((SELECT max(seq) FROM events WHERE execution_id = NEW.execution_id), 0) + 1 THEN
		RAISE EXCEPTION 'events: seq must follow the execution''s last event without a gap (execution %, seq %)', NEW.execution_id, NEW.seq
			USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'events_gapless', TABLE = 'events';
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER events_gapless BEFORE INSERT ON events
FOR EACH ROW EXECUTE FUNCTION events_gapless();

CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'events are append-only: an event cannot be changed or deleted (%)', TG_OP
		USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'events_append_only', TABLE = 'events';
END $$;

CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- One row per execution that was ever leased; none means epoch 0. The
-- epoch is the fencing token: it only grows, so the row is never deleted
-- (a deleted row would hand out epoch 1 again) and an update never lowers
-- it. A released lease keeps its row, expiring at the moment of release.
CREATE TABLE leases (
	execution_id  text COLLATE "C" NOT NULL,
	owner_host    text NOT NULL CONSTRAINT leases_owner_host_check CHECK (owner_host <> ''),
	owner_pid     bigint NOT NULL CONSTRAINT leases_owner_pid_check CHECK (owner_pid > 0),
	owner_started timestamptz NOT NULL,
	epoch         bigint NOT NULL CONSTRAINT leases_epoch_check CHECK (epoch >= 1),
	acquired      timestamptz NOT NULL, -- when this epoch began
	expires       timestamptz NOT NULL,
	CONSTRAINT leases_pkey PRIMARY KEY (execution_id),
	CONSTRAINT leases_execution_id_fkey FOREIGN KEY (execution_id) REFERENCES executions (id)
);

CREATE FUNCTION leases_epoch_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.epoch < OLD.epoch THEN
		RAISE EXCEPTION 'leases: an epoch never goes back (execution %: % to %)', OLD.execution_id, OLD.epoch, NEW.epoch
			USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'leases_epoch_forward', TABLE = 'leases';
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER leases_epoch_forward BEFORE UPDATE OF epoch ON leases
FOR EACH ROW EXECUTE FUNCTION leases_epoch_forward();

CREATE FUNCTION leases_keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'leases: a lease row is never deleted, lest its epoch be handed out again'
		USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'leases_keep', TABLE = 'leases';
END $$;

CREATE TRIGGER leases_no_delete BEFORE DELETE ON leases
FOR EACH ROW EXECUTE FUNCTION leases_keep();
CREATE TRIGGER leases_no_truncate BEFORE TRUNCATE ON leases
FOR EACH STATEMENT EXECUTE FUNCTION leases_keep();

-- A token is kept as the SHA-256 hash of its secret, never the secret. The
-- roles are checked here, unlike modes and states: a token with a role this
-- ripcord does not know must not exist. Expires and revoked are NULL for
-- never and not revoked.
CREATE TABLE tokens (
	id      text COLLATE "C" NOT NULL CONSTRAINT tokens_id_check CHECK (id <> ''),
	name    text NOT NULL CONSTRAINT tokens_name_check CHECK (name <> ''),
	role    text NOT NULL CONSTRAINT tokens_role_check CHECK (role IN ('viewer', 'operator', 'recovery', 'admin')),
	hash    bytea NOT NULL CONSTRAINT tokens_hash_check CHECK (octet_length(hash) = 32),
	created timestamptz NOT NULL,
	expires timestamptz,
	revoked timestamptz,
	CONSTRAINT tokens_pkey PRIMARY KEY (id),
	CONSTRAINT tokens_hash_key UNIQUE (hash)
);

-- ListTokens: oldest first.
CREATE INDEX tokens_created ON tokens (created, id);

-- A revoked token stays revoked, at the time it was first revoked.
CREATE FUNCTION tokens_revoked_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'tokens: a revoked token stays revoked, at the time it was first revoked (token %)', OLD.id
		USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'tokens_revoked_once', TABLE = 'tokens';
END $$;

CREATE TRIGGER tokens_revoked_once BEFORE UPDATE OF revoked ON tokens
FOR EACH ROW WHEN (OLD.revoked IS NOT NULL AND NEW.revoked IS DISTINCT FROM OLD.revoked)
EXECUTE FUNCTION tokens_revoked_once();

-- The audit log: seq numbers the entries 1, 2, 3, ... (the primary key
-- makes a duplicate impossible, the triggers a gap, an update and a
-- delete). Object, remote and detail are '' when empty.
CREATE TABLE audit (
	seq    bigint NOT NULL CONSTRAINT audit_seq_check CHECK (seq >= 1),
	at     timestamptz NOT NULL,
	actor  text NOT NULL CONSTRAINT audit_actor_check CHECK (actor <> ''),
	action text NOT NULL CONSTRAINT audit_action_check CHECK (action <> ''),
	object text NOT NULL,
	remote text NOT NULL,
	detail text NOT NULL,
	CONSTRAINT audit_pkey PRIMARY KEY (seq)
);

CREATE FUNCTION audit_gapless() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
	IF NEW.seq IS DISTINCT FROM coalesce((SELECT max(seq) FROM audit), 0) + 1 THEN
		RAISE EXCEPTION 'audit: seq must follow the last entry without a gap (seq %)', NEW.seq
			USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'audit_gapless', TABLE = 'audit';
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER audit_gapless BEFORE INSERT ON audit
FOR EACH ROW EXECUTE FUNCTION audit_gapless();

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the audit log is append-only: an entry cannot be changed or deleted (%)', TG_OP
		USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'audit_append_only', TABLE = 'audit';
END $$;

CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit
FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
