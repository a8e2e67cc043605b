-- 0005: the server's secret (ServerSecret), one row made by the first
-- call; it signs approval links.
CREATE TABLE server_secret (
	id      integer PRIMARY KEY CHECK (id = 1),
	secret  bytea NOT NULL CHECK (length(secret) = 32),
	created timestamptz NOT NULL
);

-- The secret never changes once made.
CREATE FUNCTION server_secret_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the server secret never changes';
END;
$$;
CREATE TRIGGER server_secret_immutable BEFORE UPDATE ON server_secret
	FOR EACH ROW EXECUTE FUNCTION server_secret_immutable();
