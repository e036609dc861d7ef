-- get_payment/get: the statements hexpay sent for one such request (recorded by
-- `make bench`, regenerated on every run). Variables: see bench/scenarios.py.
\set m random(1, :hist)
\set c (1 + ((:m - 1) % 10000))
SELECT payments.id, payments.order_id, payments.customer_id, payments.gateway_account_id, payments.amount, payments.currency, payments.capture_method, payments.status, payments.created_at, payments.updated_at, payments.gateway_payment_id, payments.client_secret_sealed, payments.payment_method_id, payments.gateway_payment_method_id, payments.save_card, payments.amount_received, payments.amount_capturable, payments.last_payment_error, payments.next_action, payments.observed_at, payments.failed_attempts, payments.confirmation_attempts, payments.has_refunds, payments.has_disputes, payments.version FROM payments WHERE payments.id = ('pay_b' || lpad((:m)::text, 25, '0'))::VARCHAR;
