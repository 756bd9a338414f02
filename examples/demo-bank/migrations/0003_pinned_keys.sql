-- The public key of each user's token, pinned when the user registers it on the bank's
-- own page. Decisions are verified against this key and credential, never against one
-- the relay names afterwards: a relay (or anyone holding the bank's API key) that binds
-- another token to the user cannot approve for them here.
CREATE TABLE pinned_keys (
    contract_number TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    credential_id   TEXT NOT NULL,
    jwk             TEXT NOT NULL,          -- JSON, RFC 7517, as the relay gave it at registration
    pinned_at       INTEGER NOT NULL,
    how             TEXT NOT NULL,          -- registered (on this bank's page) | first_use
    PRIMARY KEY (contract_number, user_id),
    FOREIGN KEY (contract_number, user_id) REFERENCES users(contract_number, user_id)
);
