-- webhook/new: the statements hexpay sent for one such request (recorded by
-- `make bench`, regenerated on every run). Variables: see bench/scenarios.py.
SELECT nextval('bench_orders') AS n \gset
BEGIN;
SELECT;
ROLLBACK;
BEGIN;
SELECT gateway_accounts.id, gateway_accounts.name, gateway_accounts.kind, gateway_accounts.publishable_key, gateway_accounts.secret_key_sealed, gateway_accounts.webhook_secret_sealed, gateway_accounts.api_base, gateway_accounts.is_active, gateway_accounts.created_at, gateway_accounts.version FROM gateway_accounts WHERE gateway_accounts.id = 'gw_01m8cj4e3qmdqgmstcj9aanery'::VARCHAR;
ROLLBACK;
BEGIN;
SELECT;
ROLLBACK;
BEGIN;
INSERT INTO webhook_inbox (gateway_account_id, event_id, type, received_at, outcome, payment_id) VALUES ('gw_01m8cj4e3qmdqgmstcj9aanery'::VARCHAR, ('evt_p' || lpad((:n)::text, 23, '0'))::VARCHAR, 'payment_intent.succeeded'::VARCHAR, now()::TIMESTAMP WITH TIME ZONE, NULL::VARCHAR, NULL::VARCHAR) ON CONFLICT DO NOTHING;
SELECT payments.id, payments.order_id, payments.customer_id, payments.gateway_account_id, payments.amount, payments.currency, payments.capture_method, payments.status, payments.created_at, payments.updated_at, payments.gateway_payment_id, payments.client_secret_sealed, payments.payment_method_id, payments.gateway_payment_method_id, payments.save_card, payments.amount_received, payments.amount_capturable, payments.last_payment_error, payments.next_action, payments.observed_at, payments.failed_attempts, payments.confirmation_attempts, payments.version FROM payments WHERE payments.id = ('pay_b' || lpad((:n)::text, 25, '0'))::VARCHAR FOR UPDATE \gset s11_
SELECT refunds.id, refunds.payment_id, refunds.gateway_account_id, refunds.position, refunds.amount, refunds.currency, refunds.status, refunds.created_at, refunds.updated_at, refunds.reason, refunds.gateway_refund_id, refunds.failure_reason, refunds.observed_at FROM refunds WHERE refunds.payment_id IN (('pay_b' || lpad((:n)::text, 25, '0'))::VARCHAR);
SELECT disputes.gateway_account_id, disputes.gateway_dispute_id, disputes.payment_id, disputes.position, disputes.amount, disputes.currency, disputes.status, disputes.reason, disputes.opened_at, disputes.observed_at FROM disputes WHERE disputes.payment_id IN (('pay_b' || lpad((:n)::text, 25, '0'))::VARCHAR);
SELECT orders.id, orders.customer_id, orders.customer_reference, orders.currency, orders.status, orders.created_at, orders.metadata, orders.amount_refunded, orders.payment_id, orders.version FROM orders WHERE orders.id = ('ord_b' || lpad((:n)::text, 25, '0'))::VARCHAR \gset s14_
SELECT order_lines.order_id, order_lines.position, order_lines.description, order_lines.quantity, order_lines.unit_amount, order_lines.currency FROM order_lines WHERE order_lines.order_id IN (('ord_b' || lpad((:n)::text, 25, '0'))::VARCHAR);
SELECT invoices.id, invoices.order_id, invoices.number, invoices.currency, invoices.amount_due, invoices.amount_paid, invoices.status, invoices.created_at, invoices.version FROM invoices WHERE invoices.order_id = ('ord_b' || lpad((:n)::text, 25, '0'))::VARCHAR \gset s16_
SAVEPOINT sa_savepoint_1;
\set r0 random(1, 999999999999999)
UPDATE payments SET order_id=('ord_b' || lpad((:n)::text, 25, '0'))::VARCHAR, customer_id=:s14_customer_id::VARCHAR, gateway_account_id='gw_01m8cj4e3qmdqgmstcj9aanery'::VARCHAR, amount=2500::BIGINT, currency='usd'::VARCHAR, capture_method=:s11_capture_method::VARCHAR, status='succeeded'::VARCHAR, created_at=:s11_created_at::TIMESTAMP WITH TIME ZONE, updated_at=now()::TIMESTAMP WITH TIME ZONE, gateway_payment_id=('pi_b' || lpad((:n)::text, 23, '0'))::VARCHAR, client_secret_sealed='gAAAAABrCHt1PMQLQFFmiFcEQyGq4tQcocPuRE9-8wD41Y2z_rjdhD3goykMXZWuCxstDNUzHPcJ3ci7koQ95u2Q0cAffybcSMqKpEU8o_AmnYY39o672X9F0FgdYiyRQcMqg9u2B60lwcawmkMbTaKWB7geWS3DQg=='::VARCHAR, payment_method_id=:s11_payment_method_id::VARCHAR, gateway_payment_method_id=('pm_x' || lpad(:r0::text, 23, '0'))::VARCHAR, save_card=false::BOOLEAN, amount_received=2500::BIGINT, amount_capturable=0::BIGINT, last_payment_error='null'::JSONB, next_action='null'::JSONB, observed_at=now()::TIMESTAMP WITH TIME ZONE, failed_attempts=0::INTEGER, confirmation_attempts=1::INTEGER, version=4::INTEGER WHERE payments.id = ('pay_b' || lpad((:n)::text, 25, '0'))::VARCHAR AND payments.version = 3::INTEGER;
RELEASE SAVEPOINT sa_savepoint_1;
UPDATE orders SET customer_id=:s14_customer_id::VARCHAR, customer_reference=:s14_customer_reference::VARCHAR, currency='usd'::VARCHAR, status='paid'::VARCHAR, created_at=:s16_created_at::TIMESTAMP WITH TIME ZONE, metadata=E'{"cart"\x3A "bench"}'::JSONB, amount_refunded=0::BIGINT, payment_id=('pay_b' || lpad((:n)::text, 25, '0'))::VARCHAR, version=1::INTEGER WHERE orders.id = ('ord_b' || lpad((:n)::text, 25, '0'))::VARCHAR AND orders.version = 0::INTEGER;
UPDATE invoices SET order_id=('ord_b' || lpad((:n)::text, 25, '0'))::VARCHAR, number=:s16_number::VARCHAR, currency='usd'::VARCHAR, amount_due=2500::BIGINT, amount_paid=2500::BIGINT, status='paid'::VARCHAR, created_at=:s16_created_at::TIMESTAMP WITH TIME ZONE, version=1::INTEGER WHERE invoices.id = :s16_id::VARCHAR AND invoices.version = 0::INTEGER;
UPDATE webhook_inbox SET outcome='applied'::VARCHAR, payment_id=('pay_b' || lpad((:n)::text, 25, '0'))::VARCHAR WHERE webhook_inbox.gateway_account_id = 'gw_01m8cj4e3qmdqgmstcj9aanery'::VARCHAR AND webhook_inbox.event_id = ('evt_p' || lpad((:n)::text, 23, '0'))::VARCHAR;
SELECT pg_advisory_xact_lock(7308485);
\startpipeline
INSERT INTO outbox (type, occurred_at, data) VALUES ('PaymentSucceeded'::VARCHAR, now()::TIMESTAMP WITH TIME ZONE, E'{"payment_id"\x3A "pay_b0000000000000001000001004", "order_id"\x3A "ord_b0000000000000001000001004", "amount_received"\x3A 2500, "currency"\x3A "usd"}'::JSONB);
INSERT INTO outbox (type, occurred_at, data) VALUES ('OrderPaid'::VARCHAR, now()::TIMESTAMP WITH TIME ZONE, E'{"order_id"\x3A "ord_b0000000000000001000001004", "payment_id"\x3A "pay_b0000000000000001000001004"}'::JSONB);
INSERT INTO outbox (type, occurred_at, data) VALUES ('InvoicePaid'::VARCHAR, now()::TIMESTAMP WITH TIME ZONE, E'{"invoice_id"\x3A "inv_b0000000000000001000001004", "order_id"\x3A "ord_b0000000000000001000001004", "amount_paid"\x3A 2500, "currency"\x3A "usd"}'::JSONB);
\endpipeline
COMMIT;
BEGIN;
SELECT;
ROLLBACK;
BEGIN;
SELECT payments.id, payments.order_id, payments.customer_id, payments.gateway_account_id, payments.amount, payments.currency, payments.capture_method, payments.status, payments.created_at, payments.updated_at, payments.gateway_payment_id, payments.client_secret_sealed, payments.payment_method_id, payments.gateway_payment_method_id, payments.save_card, payments.amount_received, payments.amount_capturable, payments.last_payment_error, payments.next_action, payments.observed_at, payments.failed_attempts, payments.confirmation_attempts, payments.version FROM payments WHERE payments.id = ('pay_b' || lpad((:n)::text, 25, '0'))::VARCHAR;
SELECT refunds.id, refunds.payment_id, refunds.gateway_account_id, refunds.position, refunds.amount, refunds.currency, refunds.status, refunds.created_at, refunds.updated_at, refunds.reason, refunds.gateway_refund_id, refunds.failure_reason, refunds.observed_at FROM refunds WHERE refunds.payment_id IN (('pay_b' || lpad((:n)::text, 25, '0'))::VARCHAR);
SELECT disputes.gateway_account_id, disputes.gateway_dispute_id, disputes.payment_id, disputes.position, disputes.amount, disputes.currency, disputes.status, disputes.reason, disputes.opened_at, disputes.observed_at FROM disputes WHERE disputes.payment_id IN (('pay_b' || lpad((:n)::text, 25, '0'))::VARCHAR);
ROLLBACK;
