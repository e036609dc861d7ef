-- create_payment/create: the statements hexpay sent for one such request (recorded by
-- `make bench`, regenerated on every run). Variables: see bench/scenarios.py.
SELECT nextval('bench_orders') AS n \gset
\set c 1 + (:n % 10000)
BEGIN;
SELECT;
ROLLBACK;
BEGIN;
INSERT INTO idempotency_keys (caller, key, fingerprint, created_at, status_code, response_body, response_headers) VALUES (('shopper:' || ('shopper-b' || lpad((:c)::text, 8, '0')))::VARCHAR, ('k_p' || :n)::VARCHAR, 'f3c06caf32f4427886b4712143e419c4188a3b26104d9303734d87ce3cbadfde'::VARCHAR, now()::TIMESTAMP WITH TIME ZONE, NULL::INTEGER, NULL::BYTEA, 'null'::JSONB) ON CONFLICT DO NOTHING;
COMMIT;
BEGIN;
SELECT;
ROLLBACK;
BEGIN;
SELECT customers.id, customers.reference, customers.email, customers.created_at, customers.version FROM customers WHERE customers.reference = ('shopper-b' || lpad((:c)::text, 8, '0'))::VARCHAR \gset s10_
SELECT customer_gateway_ids.customer_id, customer_gateway_ids.gateway_account_id, customer_gateway_ids.gateway_customer_id FROM customer_gateway_ids WHERE customer_gateway_ids.customer_id = :s10_id::VARCHAR;
ROLLBACK;
BEGIN;
SELECT;
ROLLBACK;
BEGIN;
SELECT orders.id, orders.customer_id, orders.customer_reference, orders.currency, orders.status, orders.created_at, orders.metadata, orders.amount_refunded, orders.payment_id, orders.version FROM orders WHERE orders.id = ('ord_b' || lpad((:n)::text, 25, '0'))::VARCHAR;
SELECT order_lines.order_id, order_lines.position, order_lines.description, order_lines.quantity, order_lines.unit_amount, order_lines.currency FROM order_lines WHERE order_lines.order_id IN (('ord_b' || lpad((:n)::text, 25, '0'))::VARCHAR);
SELECT gateway_accounts.id, gateway_accounts.name, gateway_accounts.kind, gateway_accounts.publishable_key, gateway_accounts.secret_key_sealed, gateway_accounts.webhook_secret_sealed, gateway_accounts.api_base, gateway_accounts.is_active, gateway_accounts.created_at, gateway_accounts.version FROM gateway_accounts WHERE gateway_accounts.id = 'gw_01m8cj4e3qmdqgmstcj9aanery'::VARCHAR;
SELECT payments.id, payments.order_id, payments.customer_id, payments.gateway_account_id, payments.amount, payments.currency, payments.capture_method, payments.status, payments.created_at, payments.updated_at, payments.gateway_payment_id, payments.client_secret_sealed, payments.payment_method_id, payments.gateway_payment_method_id, payments.save_card, payments.amount_received, payments.amount_capturable, payments.last_payment_error, payments.next_action, payments.observed_at, payments.failed_attempts, payments.confirmation_attempts, payments.version FROM payments WHERE payments.order_id = ('ord_b' || lpad((:n)::text, 25, '0'))::VARCHAR AND payments.gateway_account_id = 'gw_01m8cj4e3qmdqgmstcj9aanery'::VARCHAR AND (payments.status NOT IN ('succeeded'::VARCHAR, 'canceled'::VARCHAR));
SELECT payment_methods.id, payment_methods.customer_id, payment_methods.gateway_account_id, payment_methods.gateway_payment_method_id, payment_methods.card_brand, payment_methods.card_last4, payment_methods.card_exp_month, payment_methods.card_exp_year, payment_methods.cardholder_name, payment_methods.is_default, payment_methods.detached, payment_methods.created_at, payment_methods.version FROM payment_methods WHERE payment_methods.id = ('cpm_b' || lpad((:c)::text, 25, '0'))::VARCHAR \gset s21_
ROLLBACK;
BEGIN;
SELECT;
ROLLBACK;
BEGIN;
SAVEPOINT sa_savepoint_1;
INSERT INTO payments (id, order_id, customer_id, gateway_account_id, amount, currency, capture_method, status, created_at, updated_at, gateway_payment_id, client_secret_sealed, payment_method_id, gateway_payment_method_id, save_card, amount_received, amount_capturable, last_payment_error, next_action, observed_at, failed_attempts, confirmation_attempts, version) VALUES (('pay_p' || lpad((:n)::text, 25, '0'))::VARCHAR, ('ord_b' || lpad((:n)::text, 25, '0'))::VARCHAR, :s21_customer_id::VARCHAR, 'gw_01m8cj4e3qmdqgmstcj9aanery'::VARCHAR, 2500::BIGINT, 'usd'::VARCHAR, 'automatic'::VARCHAR, 'requires_payment_method'::VARCHAR, now()::TIMESTAMP WITH TIME ZONE, now()::TIMESTAMP WITH TIME ZONE, NULL::VARCHAR, NULL::VARCHAR, ('cpm_b' || lpad((:c)::text, 25, '0'))::VARCHAR, :s21_gateway_payment_method_id::VARCHAR, false::BOOLEAN, 0::BIGINT, 0::BIGINT, 'null'::JSONB, 'null'::JSONB, NULL::TIMESTAMP WITH TIME ZONE, 0::INTEGER, 0::INTEGER, 0::INTEGER);
RELEASE SAVEPOINT sa_savepoint_1;
SELECT pg_advisory_xact_lock(7308485);
INSERT INTO outbox (type, occurred_at, data) VALUES ('PaymentCreated'::VARCHAR, now()::TIMESTAMP WITH TIME ZONE, E'{"payment_id"\x3A "pay_01m8cj4gmg3pf5ywcz2wc4tecx", "order_id"\x3A "ord_b0000000000000001000000001", "amount"\x3A 2500, "currency"\x3A "usd"}'::JSONB) RETURNING outbox.id;
COMMIT;
BEGIN;
SELECT;
ROLLBACK;
BEGIN;
SELECT payments.id, payments.order_id, payments.customer_id, payments.gateway_account_id, payments.amount, payments.currency, payments.capture_method, payments.status, payments.created_at, payments.updated_at, payments.gateway_payment_id, payments.client_secret_sealed, payments.payment_method_id, payments.gateway_payment_method_id, payments.save_card, payments.amount_received, payments.amount_capturable, payments.last_payment_error, payments.next_action, payments.observed_at, payments.failed_attempts, payments.confirmation_attempts, payments.version FROM payments WHERE payments.id = ('pay_p' || lpad((:n)::text, 25, '0'))::VARCHAR FOR UPDATE \gset s37_
SELECT refunds.id, refunds.payment_id, refunds.gateway_account_id, refunds.position, refunds.amount, refunds.currency, refunds.status, refunds.created_at, refunds.updated_at, refunds.reason, refunds.gateway_refund_id, refunds.failure_reason, refunds.observed_at FROM refunds WHERE refunds.payment_id IN (:s37_id::VARCHAR);
SELECT disputes.gateway_account_id, disputes.gateway_dispute_id, disputes.payment_id, disputes.position, disputes.amount, disputes.currency, disputes.status, disputes.reason, disputes.opened_at, disputes.observed_at FROM disputes WHERE disputes.payment_id IN (:s37_id::VARCHAR);
SELECT orders.id, orders.customer_id, orders.customer_reference, orders.currency, orders.status, orders.created_at, orders.metadata, orders.amount_refunded, orders.payment_id, orders.version FROM orders WHERE orders.id = ('ord_b' || lpad((:n)::text, 25, '0'))::VARCHAR \gset s40_
SELECT order_lines.order_id, order_lines.position, order_lines.description, order_lines.quantity, order_lines.unit_amount, order_lines.currency FROM order_lines WHERE order_lines.order_id IN (('ord_b' || lpad((:n)::text, 25, '0'))::VARCHAR);
SELECT invoices.id, invoices.order_id, invoices.number, invoices.currency, invoices.amount_due, invoices.amount_paid, invoices.status, invoices.created_at, invoices.version FROM invoices WHERE invoices.order_id = ('ord_b' || lpad((:n)::text, 25, '0'))::VARCHAR;
SAVEPOINT sa_savepoint_1;
UPDATE payments SET order_id=('ord_b' || lpad((:n)::text, 25, '0'))::VARCHAR, customer_id=:s40_customer_id::VARCHAR, gateway_account_id='gw_01m8cj4e3qmdqgmstcj9aanery'::VARCHAR, amount=2500::BIGINT, currency='usd'::VARCHAR, capture_method=:s37_capture_method::VARCHAR, status='requires_confirmation'::VARCHAR, created_at=:s37_created_at::TIMESTAMP WITH TIME ZONE, updated_at=now()::TIMESTAMP WITH TIME ZONE, gateway_payment_id=('pi_p' || lpad((:n)::text, 23, '0'))::VARCHAR, client_secret_sealed='gAAAAABrCHt1oE5ziymW0_c3DZRDTw3yDA13rMFxCHEj4LuwZKHWkBOmFBDuJlhEWJaI_y2TPLf2gIMqDCm7MXDcFjRNYlGdYL0mgchluibwxoB2MO0nDnEDFBJOI7f_U1oHIun3MeyeGEM6tg_0oEu3kxUOyjTBXw=='::VARCHAR, payment_method_id=('cpm_b' || lpad((:c)::text, 25, '0'))::VARCHAR, gateway_payment_method_id=:s37_gateway_payment_method_id::VARCHAR, save_card=false::BOOLEAN, amount_received=0::BIGINT, amount_capturable=0::BIGINT, last_payment_error='null'::JSONB, next_action='null'::JSONB, observed_at=now()::TIMESTAMP WITH TIME ZONE, failed_attempts=0::INTEGER, confirmation_attempts=0::INTEGER, version=1::INTEGER WHERE payments.id = :s37_id::VARCHAR AND payments.version = 0::INTEGER;
RELEASE SAVEPOINT sa_savepoint_1;
COMMIT;
BEGIN;
SELECT;
ROLLBACK;
BEGIN;
UPDATE idempotency_keys SET status_code=201::INTEGER, response_body='\x7b227061796d656e745f6964223a227061795f30316d38636a34676d67337066357977637a3277633474656378222c227061796d656e745f6e756d626572223a225041592d5957435a3257433454454358222c22676174657761795f7061796d656e745f6964223a2270695f3570444a466b327830313747694d376372676b796c454b4f222c22636c69656e745f736563726574223a2270695f3570444a466b327830313747694d376372676b796c454b4f5f7365637265745f46504558307a59397443396b5a626c49724f6a587947694170222c227075626c69736861626c655f6b6579223a22706b5f746573745f62656e6368222c22737461747573223a2272657175697265735f636f6e6669726d6174696f6e222c22616d6f756e74223a323530302c2263757272656e6379223a22757364222c226e6578745f616374696f6e223a6e756c6c2c22676174657761795f7061796c6f6164223a7b227061796d656e745f696e74656e745f6964223a2270695f3570444a466b327830313747694d376372676b796c454b4f222c22636c69656e745f736563726574223a2270695f3570444a466b327830313747694d376372676b796c454b4f5f7365637265745f46504558307a59397443396b5a626c49724f6a587947694170222c22737461747573223a2272657175697265735f636f6e6669726d6174696f6e227d2c226f726465725f6964223a226f72645f6230303030303030303030303030303031303030303030303031222c22676174657761795f6964223a2267775f30316d38636a346533716d6471676d7374636a3961616e657279227d'::BYTEA, response_headers=E'{"content-type"\x3A "application/json"}'::JSONB WHERE idempotency_keys.caller = ('shopper:' || ('shopper-b' || lpad((:c)::text, 8, '0')))::VARCHAR AND idempotency_keys.key = ('k_p' || :n)::VARCHAR;
COMMIT;
