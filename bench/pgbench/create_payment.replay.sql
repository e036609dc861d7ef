-- create_payment/replay: the statements hexpay sent for one such request (recorded by
-- `make bench`, regenerated on every run). Variables: see bench/scenarios.py.
\set m random(:rlo, :hist)
\set c (1 + ((:m - 1) % 10000))
INSERT INTO idempotency_keys (caller, key, fingerprint, created_at, status_code, response_body, response_headers) VALUES (('shopper:' || ('shopper-b' || lpad((:c)::text, 8, '0')))::VARCHAR, ('k_s' || :m)::VARCHAR, '0ba54cb7545dbe15d2c829d17431510cea5b98eb456c1c52a4c52e29866e682a'::VARCHAR, now()::TIMESTAMP WITH TIME ZONE, NULL::INTEGER, NULL::BYTEA, NULL::JSONB) ON CONFLICT DO NOTHING;
SELECT idempotency_keys.caller, idempotency_keys.key, idempotency_keys.fingerprint, idempotency_keys.created_at, idempotency_keys.status_code, idempotency_keys.response_body, idempotency_keys.response_headers FROM idempotency_keys WHERE idempotency_keys.caller = ('shopper:' || ('shopper-b' || lpad((:c)::text, 8, '0')))::VARCHAR AND idempotency_keys.key = ('k_s' || :m)::VARCHAR;
