-- webhook/duplicate: the statements hexpay sent for one such request (recorded by
-- `make bench`, regenerated on every run). Variables: see bench/scenarios.py.
\set n random(1, :hist)
BEGIN ISOLATION LEVEL READ COMMITTED;
WITH claimed AS (INSERT INTO webhook_inbox (gateway_account_id, event_id, type, received_at, outcome, payment_id) VALUES ('gw_01m8fm7xvb9tak1112ynkz9zys', ('evt_s' || lpad((:n)::text, 23, '0')), 'payment_intent.succeeded', now()::TIMESTAMP WITH TIME ZONE, NULL, NULL) ON CONFLICT DO NOTHING RETURNING 1) SELECT stored.event_id IS NOT NULL AS found, stored.outcome FROM (SELECT 1) AS one LEFT JOIN webhook_inbox AS stored ON stored.gateway_account_id = 'gw_01m8fm7xvb9tak1112ynkz9zys' AND stored.event_id = ('evt_s' || lpad((:n)::text, 23, '0')) WHERE NOT EXISTS (SELECT 1 FROM claimed);
ROLLBACK;
