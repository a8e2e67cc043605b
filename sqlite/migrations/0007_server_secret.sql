-- 0007: the server's secret (ServerSecret), one row made by the first
-- call; it signs approval links.
CREATE TABLE server_secret (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	secret  BLOB NOT NULL CHECK (length(secret) = 32),
	created TEXT NOT NULL
) STRICT;

-- The secret never changes once made.
CREATE TRIGGER server_secret_immutable BEFORE UPDATE ON server_secret
BEGIN
	SELECT RAISE(ABORT, 'the server secret never changes');
END;
