-- API keys: the bearer tokens callers of the HTTP API present. Only the
-- SHA-256 of the whole key is kept; the key itself is shown once, when it is
-- created. A fast hash is right here (unlike for passwords): the secret part
-- is 32 random bytes, so there is nothing to guess or to dictionary-attack,
-- and a slow KDF would only add milliseconds to every request.
CREATE TABLE api_keys (
    id         text        PRIMARY KEY,
    hash       bytea       NOT NULL CHECK (length(hash) = 32),
    role       text        NOT NULL,
    locality   text        NOT NULL DEFAULT '',
    partner    text        NOT NULL DEFAULT '',
    label      text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    -- A principal is a role plus exactly the scope the role needs.
    CONSTRAINT api_keys_scope CHECK (
        (role = 'coordinator' AND locality <> '' AND partner = '') OR
        (role IN ('issuer', 'venue') AND partner <> '' AND locality = '') OR
        (role IN ('national', 'auditor') AND locality = '' AND partner = '')
    )
);

-- Idempotency: the first answer to a request sent with an Idempotency-Key,
-- per principal and key. status is NULL while the first request still runs
-- (its claim); retries wait for it and then get the stored answer. Rows are
-- kept at least 24 hours (the HTTP layer keeps them 48) and may be purged or
-- reused after that; a claim whose process died is taken over after a lease.
CREATE TABLE idempotency_keys (
    principal    text        NOT NULL,
    key          text        NOT NULL,
    method       text        NOT NULL,
    path         text        NOT NULL,
    request_hash bytea       NOT NULL,
    claim        uuid        NOT NULL,
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    status       int,
    content_type text,
    location     text,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (principal, key)
);

CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
