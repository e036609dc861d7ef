-- list_payment_methods/list: the statements hexpay sent for one such request (recorded by
-- `make bench`, regenerated on every run). Variables: see bench/scenarios.py.
\set c random(1, 10000)
BEGIN;
SELECT customers.id, customers.reference, customers.email, customers.created_at, customers.version, customer_gateway_ids.gateway_account_id AS linked_account_id, customer_gateway_ids.gateway_customer_id AS linked_customer_id FROM customers LEFT OUTER JOIN customer_gateway_ids ON customer_gateway_ids.customer_id = customers.id WHERE customers.reference = ('shopper-b' || lpad((:c)::text, 8, '0'))::VARCHAR \gset s1_
SELECT payment_methods.id, payment_methods.customer_id, payment_methods.gateway_account_id, payment_methods.gateway_payment_method_id, payment_methods.card_brand, payment_methods.card_last4, payment_methods.card_exp_month, payment_methods.card_exp_year, payment_methods.cardholder_name, payment_methods.is_default, payment_methods.detached, payment_methods.created_at, payment_methods.version FROM payment_methods WHERE payment_methods.customer_id = :s1_id::VARCHAR AND payment_methods.detached IS false ORDER BY payment_methods.created_at, payment_methods.id;
ROLLBACK;
