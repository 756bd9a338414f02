-- The demo bank's own data: contract, users, sessions, approvals in flight,
-- transfers and the mail outbox. Timestamps are Unix seconds.

CREATE TABLE contracts (
    number      TEXT PRIMARY KEY,          -- 契約者番号, 7 digits
    name        TEXT NOT NULL              -- the customer company
);

CREATE TABLE users (
    contract_number        TEXT NOT NULL REFERENCES contracts(number),
    user_id                TEXT NOT NULL,  -- 利用者ID, unique within the contract
    name                   TEXT NOT NULL,
    role                   TEXT NOT NULL,  -- manager | approver | data_entry | inquiry
    email                  TEXT,
    login_hash             TEXT NOT NULL,  -- Argon2id PHC string
    approval_hash          TEXT NOT NULL,  -- Argon2id PHC string
    login_failures         INTEGER NOT NULL DEFAULT 0,
    approval_failures      INTEGER NOT NULL DEFAULT 0,
    -- R17: until when a user with approval rights and no token may log in with
    -- passwords only (NULL: not at all).
    password_only_until    INTEGER,
    PRIMARY KEY (contract_number, user_id)
);

CREATE TABLE sessions (
    id              TEXT PRIMARY KEY,      -- random, base64url; the cookie value
    csrf            TEXT NOT NULL,         -- form token, random, base64url
    contract_number TEXT,
    user_id         TEXT,                  -- set once the login is complete
    register_user_id TEXT,                 -- signed in on the registration page only
    staff           INTEGER NOT NULL DEFAULT 0,
    flash           TEXT,                  -- one notice for the next page
    created_at      INTEGER NOT NULL
);

-- A challenge this bank sent and what to do when it is approved.
CREATE TABLE approvals (
    challenge_id    TEXT PRIMARY KEY,
    session_id      TEXT NOT NULL,
    contract_number TEXT NOT NULL,
    user_id         TEXT NOT NULL,         -- who must approve
    credential_id   TEXT NOT NULL,         -- the token the bank saw registered when it asked
    purpose         TEXT NOT NULL,         -- login | transfer | admin
    payload         TEXT NOT NULL,         -- JSON: what to apply on approval
    context         TEXT NOT NULL,         -- JSON: the context exactly as sent
    number          INTEGER,
    expires_at      INTEGER NOT NULL,
    status          TEXT NOT NULL,         -- pending, then the relay's outcome or verification_failed
    detail          TEXT,                  -- verification result / error to show
    created_at      INTEGER NOT NULL
);

CREATE TABLE transfers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_number TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    payee_name      TEXT NOT NULL,
    payee_account   TEXT NOT NULL,
    amount          INTEGER NOT NULL,      -- yen
    currency        TEXT NOT NULL,
    challenge_id    TEXT NOT NULL,
    key_thumbprint  TEXT NOT NULL,
    executed_at     INTEGER NOT NULL
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    sent_at         INTEGER NOT NULL
);
