-- 0006: notification deliveries (ripcord.DeliveryStore). One row per
-- notification to one destination, keyed by the execution, the seq of the
-- event it tells of and the destination, so that it is sent once however
-- many processes follow the execution: the one holding the claim (holder,
-- until claim_expires on the store's clock) sends it.
CREATE TABLE deliveries (
	execution_id  TEXT NOT NULL CHECK (execution_id <> ''),
	seq           INTEGER NOT NULL CHECK (seq >= 0),
	destination   TEXT NOT NULL CHECK (destination <> ''),
	kind          TEXT NOT NULL CHECK (kind <> ''),
	status        TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
	attempts      INTEGER NOT NULL CHECK (attempts >= 0),
	last_error    TEXT NOT NULL, -- '' when none
	holder        TEXT NOT NULL CHECK (holder <> ''),
	claim_expires TEXT NOT NULL,
	created       TEXT NOT NULL,
	updated       TEXT NOT NULL,
	PRIMARY KEY (execution_id, seq, destination)
) STRICT, WITHOUT ROWID;

-- A delivery that ended stays as it ended.
CREATE TRIGGER deliveries_final BEFORE UPDATE ON deliveries
WHEN OLD.status IN ('sent', 'failed')
BEGIN
	SELECT RAISE(ABORT, 'deliveries: a sent or failed delivery never changes');
END;
