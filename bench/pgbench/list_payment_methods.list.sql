-- list_payment_methods/list: the statements hexpay sent for one such request (recorded by
-- `make bench`, regenerated on every run). Variables: see bench/scenarios.py.
\set c random(1, 10000)
\set r0 random(1, 999999999999999)
SELECT payment_methods.id, payment_methods.customer_id, payment_methods.gateway_account_id, payment_methods.gateway_payment_method_id, payment_methods.card_brand, payment_methods.card_last4, payment_methods.card_exp_month, payment_methods.card_exp_year, payment_methods.cardholder_name, payment_methods.is_default, payment_methods.detached, payment_methods.created_at, payment_methods.version FROM payment_methods WHERE payment_methods.customer_id = ('cus_x' || lpad(:r0::text, 25, '0'))::VARCHAR AND payment_methods.detached IS false ORDER BY payment_methods.created_at, payment_methods.id;
