-- 0005: console sessions, in the store so that every process serving the
-- console knows them. A session is kept as the SHA-256 of its cookie's
-- value, never the value; it names its token by the token's hash.
CREATE TABLE sessions (
	hash       BLOB PRIMARY KEY CHECK (length(hash) = 32),
	token_hash BLOB NOT NULL CHECK (length(token_hash) = 32),
	csrf       TEXT NOT NULL CHECK (csrf <> ''),
	created    TEXT NOT NULL,
	expires    TEXT NOT NULL
) STRICT;

-- CreateSession removes the expired ones.
CREATE INDEX sessions_expires ON sessions (expires);
