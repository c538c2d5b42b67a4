/**
 * SQL that fills MeStore's baseline tables with `orders` clean orders (3 items,
 * a transaction and a payment each), fast, with generate_series. Every row
 * satisfies manifest/mestore.ts, so apply succeeds on it.
 */
export function bulkMeStoreSql(orders: number): string {
  const users = Math.max(10, Math.ceil(orders / 100));
  return `
INSERT INTO users (id, email, full_name, security_clearance_level, performance_score)
SELECT 'u-' || lpad(g::text, 34, '0'), 'user' || g || '@example.com', 'User ' || g, 1 + g % 5, g % 100
  FROM generate_series(1, ${users}) g;
INSERT INTO products (id, vendedor_id, sku, name, precio_venta, precio_costo, comision_mestocker, peso)
SELECT 'p-' || lpad(g::text, 34, '0'), 'u-' || lpad((1 + g % ${users})::text, 34, '0'), 'SKU-' || g, 'Product ' || g, 100, 60, 10, 1
  FROM generate_series(1, 100) g;
INSERT INTO orders (id, order_number, buyer_id, subtotal, tax_amount, shipping_cost, discount_amount, total_amount, status, shipping_name, shipping_phone, created_at)
SELECT g, 'ORD-' || g, 'u-' || lpad((1 + g % ${users})::text, 34, '0'), 300, 57, 10, 0, 367,
       (ARRAY['PENDING','PAID','SHIPPED','DELIVERED'])[1 + g % 4], 'Buyer ' || g, '+57 300 ' || g, now() - (g || ' minutes')::interval
  FROM generate_series(1, ${orders}) g;
INSERT INTO order_items (order_id, product_id, product_name, product_sku, unit_price, quantity, total_price)
SELECT o, 'p-' || lpad((1 + (o * 3 + k) % 100)::text, 34, '0'), 'Product', 'SKU', 100, 1, 100
  FROM generate_series(1, ${orders}) o, generate_series(1, 3) k;
INSERT INTO payment_methods (id, buyer_id, method_type)
SELECT g, 'u-' || lpad(g::text, 34, '0'), 'CARD' FROM generate_series(1, ${users}) g;
INSERT INTO order_transactions (id, order_id, payment_method_id, transaction_reference, gateway_transaction_id, amount, status)
SELECT g, g, 1 + g % ${users}, 'TX-' || g, 'gw-' || g, 367, 'APPROVED' FROM generate_series(1, ${orders}) g;
INSERT INTO payments (transaction_id, wompi_transaction_id, wompi_payment_id, amount_in_cents, currency, payment_method_type, status)
SELECT g, 'wt-' || g, 'wp-' || g, 36700, 'COP', 'CARD', 'APPROVED' FROM generate_series(1, ${orders}) g;
SELECT setval('orders_id_seq', ${orders}); SELECT setval('order_transactions_id_seq', ${orders});
SELECT setval('payment_methods_id_seq', ${users});
ANALYZE;
`;
}
