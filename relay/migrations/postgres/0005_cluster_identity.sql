-- What every relay on this database must agree on (issue 22, item 5): a check value of
-- the master key (an HMAC of a fixed label under the key, never the key) and the VAPID
-- public key. The first relay records them; a relay started with another one refuses to
-- start. Also: an index for deleting credentials that were never bound.

CREATE TABLE cluster_identity (
    name        TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);

CREATE INDEX credentials_by_created ON credentials (created_at);
