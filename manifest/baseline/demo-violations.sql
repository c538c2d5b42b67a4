-- Rows that break the plan: what `schema-diff validate` must find before any change.
-- Run after demo-rows.sql. Each comment names the constraints the row violates.
INSERT INTO users (id, email, full_name, user_type, security_clearance_level, performance_score, failed_login_attempts, otp_attempts, reset_attempts, is_active) VALUES
  -- ck_user_email_format, ck_user_security_clearance_range, ck_user_failed_logins_non_negative
  ('00000000-0000-4000-8000-000000000006', 'not-an-email', 'Eva Rota', 'BUYER', 9, 50, -1, 0, 0, TRUE),
  -- ck_user_performance_score_range
  ('00000000-0000-4000-8000-000000000007', 'fer@example.com', 'Fer', 'BUYER', 1, 120, 0, 0, 0, TRUE);

INSERT INTO products (id, vendedor_id, sku, name, precio_venta, precio_costo, comision_mestocker, peso, status) VALUES
  -- ck_product_precio_venta_non_negative, ck_product_sku_not_empty
  ('10000000-0000-4000-8000-000000000005', '00000000-0000-4000-8000-000000000001', '   ', 'Producto roto', -5.00, 1.00, 0.00, 0.100, 'DRAFT');

INSERT INTO orders (id, order_number, buyer_id, subtotal, tax_amount, shipping_cost, discount_amount, total_amount, status, shipping_name, shipping_phone, shipping_address) VALUES
  -- ck_order_total_positive, ck_order_total_calculation, ck_order_discount_non_negative
  (4, 'ORD-0004', '00000000-0000-4000-8000-000000000004', 0.00, 0.00, 0.00, -10.00, 0.00, 'PENDING', 'Diego Compra', '+57 300 000 0004', NULL),
  -- ck_order_shipping_name_not_empty, ck_order_total_calculation
  (5, 'ORD-0005', '00000000-0000-4000-8000-000000000003', 100.00, 19.00, 0.00, 0.00, 120.00, 'PENDING', '  ', '+57 300 000 0003', NULL);

INSERT INTO order_items (id, order_id, product_id, product_name, product_sku, unit_price, quantity, total_price) VALUES
  -- ck_order_item_quantity_positive, ck_order_item_total_calculation
  (4, 3, '10000000-0000-4000-8000-000000000002', 'Café de Nariño 250g', 'CAF-002', 18000.00, 0, 18000.00);

INSERT INTO payments (id, transaction_id, wompi_transaction_id, wompi_payment_id, amount_in_cents, currency, payment_method_type, status) VALUES
  -- ck_payment_amount_positive, ck_payment_currency_format; duplicates wompi-tx-1 (ix_payments_wompi_transaction_id_unique)
  (4, 3, 'wompi-tx-1', NULL, 0, 'CO', 'PSE', 'PENDING');
