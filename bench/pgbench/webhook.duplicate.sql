-- webhook/duplicate: the statements hexpay sent for one such request (recorded by
-- `make bench`, regenerated on every run). Variables: see bench/scenarios.py.
\set n random(1, :hist)
BEGIN;
SELECT gateway_accounts.id, gateway_accounts.name, gateway_accounts.kind, gateway_accounts.publishable_key, gateway_accounts.secret_key_sealed, gateway_accounts.webhook_secret_sealed, gateway_accounts.api_base, gateway_accounts.is_active, gateway_accounts.created_at, gateway_accounts.version FROM gateway_accounts WHERE gateway_accounts.id = 'gw_01m8ez6418yh1sexwgr7jktq78'::VARCHAR;
INSERT INTO webhook_inbox (gateway_account_id, event_id, type, received_at, outcome, payment_id) VALUES ('gw_01m8ez6418yh1sexwgr7jktq78'::VARCHAR, ('evt_s' || lpad((:n)::text, 23, '0'))::VARCHAR, 'payment_intent.succeeded'::VARCHAR, now()::TIMESTAMP WITH TIME ZONE, NULL::VARCHAR, NULL::VARCHAR) ON CONFLICT DO NOTHING;
SELECT webhook_inbox.gateway_account_id, webhook_inbox.event_id, webhook_inbox.type, webhook_inbox.received_at, webhook_inbox.outcome, webhook_inbox.payment_id FROM webhook_inbox WHERE webhook_inbox.gateway_account_id = 'gw_01m8ez6418yh1sexwgr7jktq78'::VARCHAR AND webhook_inbox.event_id = ('evt_s' || lpad((:n)::text, 23, '0'))::VARCHAR;
ROLLBACK;
