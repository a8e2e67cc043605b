-- 0003: console sessions, in the store so that every replica serving the
-- console knows them. A session is kept as the SHA-256 of its cookie's
-- value, never the value; it names its token by the token's hash.
CREATE TABLE sessions (
	hash       bytea PRIMARY KEY CHECK (length(hash) = 32),
	token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
	csrf       text NOT NULL CHECK (csrf <> ''),
	created    timestamptz NOT NULL,
	expires    timestamptz NOT NULL CHECK (expires > created)
);

-- CreateSession removes the expired ones.
CREATE INDEX sessions_expires ON sessions (expires);
