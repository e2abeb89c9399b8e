-- Web app sessions: one row per signed-in browser. The cookie carries 32
-- random bytes; only their SHA-256 is kept, as for API keys. A session
-- acts as the API key it was opened with: revoking or deleting the key
-- ends its sessions (the lookup joins the key and checks revoked_at).
-- expires_at slides forward with use up to ends_at, the absolute limit.
CREATE TABLE web_sessions (
    token_hash bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    key_id     text        NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    csrf       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL
);

CREATE INDEX web_sessions_expires_at ON web_sessions (expires_at);
