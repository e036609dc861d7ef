-- get_payment/get: the statements hexpay sent for one such request (recorded by
-- `make bench`, regenerated on every run). Variables: see bench/scenarios.py.
\set m random(1, :hist)
\set c (1 + ((:m - 1) % 10000))
BEGIN;
SELECT;
ROLLBACK;
BEGIN;
SELECT payments.id, payments.order_id, payments.customer_id, payments.gateway_account_id, payments.amount, payments.currency, payments.capture_method, payments.status, payments.created_at, payments.updated_at, payments.gateway_payment_id, payments.client_secret_sealed, payments.payment_method_id, payments.gateway_payment_method_id, payments.save_card, payments.amount_received, payments.amount_capturable, payments.last_payment_error, payments.next_action, payments.observed_at, payments.failed_attempts, payments.confirmation_attempts, payments.version FROM payments WHERE payments.id = ('pay_b' || lpad((:m)::text, 25, '0'))::VARCHAR;
SELECT refunds.id, refunds.payment_id, refunds.gateway_account_id, refunds.position, refunds.amount, refunds.currency, refunds.status, refunds.created_at, refunds.updated_at, refunds.reason, refunds.gateway_refund_id, refunds.failure_reason, refunds.observed_at FROM refunds WHERE refunds.payment_id IN (('pay_b' || lpad((:m)::text, 25, '0'))::VARCHAR);
SELECT disputes.gateway_account_id, disputes.gateway_dispute_id, disputes.payment_id, disputes.position, disputes.amount, disputes.currency, disputes.status, disputes.reason, disputes.opened_at, disputes.observed_at FROM disputes WHERE disputes.payment_id IN (('pay_b' || lpad((:m)::text, 25, '0'))::VARCHAR);
SELECT customers.id, customers.reference, customers.email, customers.created_at, customers.version FROM customers WHERE customers.reference = ('shopper-b' || lpad((:c)::text, 8, '0'))::VARCHAR \gset s7_
SELECT customer_gateway_ids.customer_id, customer_gateway_ids.gateway_account_id, customer_gateway_ids.gateway_customer_id FROM customer_gateway_ids WHERE customer_gateway_ids.customer_id = :s7_id::VARCHAR;
ROLLBACK;
