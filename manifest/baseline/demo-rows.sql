-- Clean demo rows: every constraint of manifest/mestore.ts holds.
-- Portable between PostgreSQL and SQLite (explicit ids, TRUE/FALSE literals).
INSERT INTO users (id, email, full_name, user_type, security_clearance_level, performance_score, failed_login_attempts, otp_attempts, reset_attempts, is_active) VALUES
  ('00000000-0000-4000-8000-000000000001', 'ana@mestore.co',    'Ana Vendedora',  'VENDOR', 2, 88.5, 0, 0, 0, TRUE),
  ('00000000-0000-4000-8000-000000000002', 'bruno@mestore.co',  'Bruno Vendedor', 'VENDOR', 2, 71,   1, 0, 0, TRUE),
  ('00000000-0000-4000-8000-000000000003', 'carla@example.com', 'Carla Compra',   'BUYER',  1, 0,    0, 1, 0, TRUE),
  ('00000000-0000-4000-8000-000000000004', 'diego@example.com', 'Diego Compra',   'BUYER',  1, 100,  3, 0, 1, TRUE),
  ('00000000-0000-4000-8000-000000000005', 'admin@mestore.co',  'Admin',          'ADMIN',  5, 95,   0, 0, 0, TRUE);

INSERT INTO products (id, vendedor_id, sku, name, precio_venta, precio_costo, comision_mestocker, peso, status) VALUES
  ('10000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001', 'CAF-001', 'Café de Huila 500g', 32000.00, 21000.00, 3200.00, 0.500, 'APPROVED'),
  ('10000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'CAF-002', 'Café de Nariño 250g', 18000.00, 11000.00, 1800.00, 0.250, 'APPROVED'),
  ('10000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000002', 'MOC-001', 'Mochila Wayuu', 150000.00, 90000.00, 15000.00, 0.800, 'APPROVED'),
  ('10000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000002', 'SOM-001', 'Sombrero vueltiao', 120000.00, NULL, NULL, NULL, 'DRAFT');

INSERT INTO orders (id, order_number, buyer_id, subtotal, tax_amount, shipping_cost, discount_amount, total_amount, status, shipping_name, shipping_phone, shipping_address) VALUES
  (1, 'ORD-0001', '00000000-0000-4000-8000-000000000003', 64000.00, 12160.00, 8000.00, 0.00,    84160.00, 'DELIVERED', 'Carla Compra', '+57 300 000 0003', 'Cra 7 # 12-34, Bogotá'),
  (2, 'ORD-0002', '00000000-0000-4000-8000-000000000003', 150000.00, 28500.00, 0.00,  15000.00, 163500.00, 'PAID',     'Carla Compra', '+57 300 000 0003', 'Cra 7 # 12-34, Bogotá'),
  (3, 'ORD-0003', '00000000-0000-4000-8000-000000000004', 18000.00, 3420.00,  6000.00, 0.00,    27420.00, 'PENDING',   'Diego Compra', '+57 300 000 0004', 'Cl 10 # 5-20, Medellín');

INSERT INTO order_items (id, order_id, product_id, product_name, product_sku, unit_price, quantity, total_price) VALUES
  (1, 1, '10000000-0000-4000-8000-000000000001', 'Café de Huila 500g', 'CAF-001', 32000.00, 2, 64000.00),
  (2, 2, '10000000-0000-4000-8000-000000000003', 'Mochila Wayuu', 'MOC-001', 150000.00, 1, 150000.00),
  (3, 3, '10000000-0000-4000-8000-000000000002', 'Café de Nariño 250g', 'CAF-002', 18000.00, 1, 18000.00);

INSERT INTO payment_methods (id, buyer_id, method_type, last_four, is_default) VALUES
  (1, '00000000-0000-4000-8000-000000000003', 'CARD', '4242', TRUE),
  (2, '00000000-0000-4000-8000-000000000004', 'PSE', NULL, TRUE);

INSERT INTO order_transactions (id, order_id, payment_method_id, transaction_reference, gateway_transaction_id, amount, status) VALUES
  (1, 1, 1, 'TX-0001', 'gw-1001', 84160.00, 'APPROVED'),
  (2, 2, 1, 'TX-0002', 'gw-1002', 163500.00, 'APPROVED'),
  (3, 3, 2, 'TX-0003', NULL, 27420.00, 'PENDING');

INSERT INTO payments (id, transaction_id, wompi_transaction_id, wompi_payment_id, amount_in_cents, currency, payment_method_type, status) VALUES
  (1, 1, 'wompi-tx-1', 'wompi-pay-1', 8416000, 'COP', 'CARD', 'APPROVED'),
  (2, 2, 'wompi-tx-2', 'wompi-pay-2', 16350000, 'COP', 'CARD', 'APPROVED'),
  (3, 3, NULL, NULL, 2742000, 'COP', 'PSE', 'PENDING');
