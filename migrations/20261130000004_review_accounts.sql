-- Review accounts: local users with argon2id password hashes and a role, browser sessions
-- (only a hash of each session token is stored), and failed sign-ins for rate limiting.

CREATE TYPE user_role AS ENUM ('radiologist', 'viewer', 'admin');

CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9._-]{1,64}$'),
    display_name   TEXT NOT NULL,
    role           user_role NOT NULL,
    -- PHC string, e.g. $argon2id$v=19$m=19456,t=2,p=1$...
    password_hash  TEXT NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    disabled       BOOLEAN NOT NULL DEFAULT false,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    -- SHA-256 of the cookie's token: a stolen table does not give working sessions.
    token_sha256  BYTEA PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    -- Sent back in every state-changing request's form or X-CSRF-Token header.
    csrf_token    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE login_failures (
    id        BIGSERIAL PRIMARY KEY,
    username  TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_recent_idx ON login_failures (username, at);
