-- 0002: what lets several ripcord serve replicas share the store
-- (ripcord.ClusterStore): the registry of replicas and named mutexes. Notes
-- between replicas need no table: they are NOTIFY messages.

-- One row per replica that ever beat. Started is its first heartbeat; a
-- replica is live while expires is ahead of the store's clock and it is
-- not leaving.
CREATE TABLE replicas (
	id            text COLLATE "C" NOT NULL CONSTRAINT replicas_id_check CHECK (id <> ''),
	owner_host    text NOT NULL CONSTRAINT replicas_owner_host_check CHECK (owner_host <> ''),
	owner_pid     bigint NOT NULL CONSTRAINT replicas_owner_pid_check CHECK (owner_pid > 0),
	owner_started timestamptz NOT NULL,
	addr          text NOT NULL,
	started       timestamptz NOT NULL,
	seen          timestamptz NOT NULL,
	expires       timestamptz NOT NULL,
	leaving       boolean NOT NULL DEFAULT false,
	CONSTRAINT replicas_pkey PRIMARY KEY (id)
);

-- A mutex is held by holder until expires; a released one keeps its row
-- (and its holder), expiring at the moment of release. Gen counts the
-- releases that changed the shared thing: it only grows, so the row is
-- never deleted.
CREATE TABLE mutexes (
	name    text COLLATE "C" NOT NULL CONSTRAINT mutexes_name_check CHECK (name <> ''),
	holder  text NOT NULL CONSTRAINT mutexes_holder_check CHECK (holder <> ''),
	gen     bigint NOT NULL CONSTRAINT mutexes_gen_check CHECK (gen >= 0),
	expires timestamptz NOT NULL,
	CONSTRAINT mutexes_pkey PRIMARY KEY (name)
);

CREATE FUNCTION mutexes_gen_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
		RAISE EXCEPTION 'mutexes: a mutex row is never deleted, lest its generation start again'
			USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'mutexes_gen_forward', TABLE = 'mutexes';
	END IF;
	IF NEW.gen < OLD.gen THEN
		RAISE EXCEPTION 'mutexes: a generation never goes back (mutex %: % to %)', OLD.name, OLD.gen, NEW.gen
			USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'mutexes_gen_forward', TABLE = 'mutexes';
	END IF;
	RETURN NEW;
END $$;

CREATE TRIGGER mutexes_gen_forward BEFORE UPDATE OF gen OR DELETE ON mutexes
FOR EACH ROW EXECUTE FUNCTION mutexes_gen_forward();
CREATE TRIGGER mutexes_no_truncate BEFORE TRUNCATE ON mutexes
FOR EACH STATEMENT EXECUTE FUNCTION mutexes_gen_forward();
