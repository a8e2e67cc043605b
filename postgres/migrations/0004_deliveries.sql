-- 0004: notification deliveries (ripcord.DeliveryStore). One row per
-- notification to one destination, keyed by the execution, the seq of the
-- event it tells of and the destination, so that however many replicas
-- follow an execution each notification is sent once: by the replica that
-- holds its claim (holder, until claim_expires on the store's clock).
CREATE TABLE deliveries (
	execution_id  text COLLATE "C" NOT NULL CONSTRAINT deliveries_execution_id_check CHECK (execution_id <> ''),
	seq           bigint NOT NULL CONSTRAINT deliveries_seq_check CHECK (seq >= 0),
	destination   text COLLATE "C" NOT NULL CONSTRAINT deliveries_destination_check CHECK (destination <> ''),
	kind          text NOT NULL CONSTRAINT deliveries_kind_check CHECK (kind <> ''),
	status        text NOT NULL CONSTRAINT deliveries_status_check CHECK (status IN ('sending', 'sent', 'failed')),
	attempts      integer NOT NULL CONSTRAINT deliveries_attempts_check CHECK (attempts >= 0),
	last_error    text NOT NULL, -- '' when none
	holder        text NOT NULL CONSTRAINT deliveries_holder_check CHECK (holder <> ''),
	claim_expires timestamptz NOT NULL,
	created       timestamptz NOT NULL,
	updated       timestamptz NOT NULL,
	CONSTRAINT deliveries_pkey PRIMARY KEY (execution_id, seq, destination)
);

-- A delivery that ended stays as it ended.
CREATE FUNCTION deliveries_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF OLD.status IN ('sent', 'failed') THEN
		RAISE EXCEPTION 'deliveries: a sent or failed delivery never changes'
			USING ERRCODE = 'integrity_constraint_violation', CONSTRAINT = 'deliveries_final', TABLE = 'deliveries';
	END IF;
	RETURN NEW;
END;
$$;

CREATE TRIGGER deliveries_final BEFORE UPDATE ON deliveries
	FOR EACH ROW EXECUTE FUNCTION deliveries_final();
