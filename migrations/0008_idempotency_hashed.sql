-- Idempotency rows keep the SHA-256 of the Idempotency-Key, never the key
-- a client chose (it may hold anything the client typed), and the path
-- without its query string. Rows already stored are converted in place.
ALTER TABLE idempotency_keys ADD COLUMN key_hash bytea;
UPDATE idempotency_keys SET key_hash = sha256(convert_to(key, 'UTF8')), path = split_part(path, '?', 1);
ALTER TABLE idempotency_keys ALTER COLUMN key_hash SET NOT NULL;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys DROP COLUMN key;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (principal, key_hash);
ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_path_no_query CHECK (position('?' in path) = 0);
