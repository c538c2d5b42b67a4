import { defineManifest } from '../src/manifest/define.js';
import type { MeStoreDB } from './mestore-db.js';

/**
 * MeStore's "Database Constraints Implementation Plan" (BUG CRÍTICO #5), complete:
 * 29 CHECK constraints, 7 foreign-key action fixes, 5 indexes and 3 partial
 * unique indexes. Descriptions are the plan's own.
 */
export const mestore = defineManifest<MeStoreDB>({
  version: 1,
  name: 'mestore',
  tables: {
    orders: {
      checks: [
        { name: 'ck_order_subtotal_non_negative', expr: 'subtotal >= 0', description: 'Prevents negative subtotals' },
        { name: 'ck_order_tax_non_negative', expr: 'tax_amount >= 0', description: 'Prevents negative taxes' },
        { name: 'ck_order_shipping_non_negative', expr: 'shipping_cost >= 0', description: 'Prevents negative shipping' },
        { name: 'ck_order_discount_non_negative', expr: 'discount_amount >= 0', description: 'Prevents negative discounts' },
        { name: 'ck_order_total_positive', expr: 'total_amount > 0', description: 'Ensures positive totals' },
        {
          name: 'ck_order_total_calculation',
          expr: 'ABS(total_amount - (subtotal + tax_amount + shipping_cost - discount_amount)) <= 0.01',
          description: 'Validates total = sum(components)',
        },
        { name: 'ck_order_shipping_name_not_empty', expr: 'LENGTH(TRIM(shipping_name)) > 0', description: 'Ensures shipping info present' },
        { name: 'ck_order_shipping_phone_not_empty', expr: 'LENGTH(TRIM(shipping_phone)) > 0', description: 'Ensures shipping info present' },
      ],
      foreignKeys: [
        {
          name: 'fk_orders_buyer_id',
          columns: ['buyer_id'],
          references: { table: 'users', columns: ['id'] },
          onDelete: 'restrict',
          description: 'Protect buyers with orders',
        },
      ],
      indexes: [{ name: 'ix_orders_status_created', columns: ['status', 'created_at'], description: 'Order listings by status and date' }],
    },
    order_items: {
      checks: [
        { name: 'ck_order_item_quantity_positive', expr: 'quantity > 0', description: 'Quantity > 0' },
        { name: 'ck_order_item_unit_price_positive', expr: 'unit_price > 0', description: 'Unit price > 0' },
        {
          name: 'ck_order_item_total_calculation',
          expr: 'ABS(total_price - unit_price * quantity) <= 0.01',
          description: 'Total = price * quantity',
        },
        { name: 'ck_order_item_product_name_not_empty', expr: 'LENGTH(TRIM(product_name)) > 0', description: 'Product info required' },
        { name: 'ck_order_item_product_sku_not_empty', expr: 'LENGTH(TRIM(product_sku)) > 0', description: 'SKU required' },
      ],
      foreignKeys: [
        {
          name: 'fk_order_items_product_id',
          columns: ['product_id'],
          references: { table: 'products', columns: ['id'] },
          onDelete: 'restrict',
          description: 'Protect products in orders',
        },
      ],
    },
    payments: {
      checks: [
        { name: 'ck_payment_amount_positive', expr: 'amount_in_cents > 0', description: 'Amount > 0' },
        { name: 'ck_payment_currency_format', expr: 'LENGTH(currency) = 3', description: 'Currency = 3 chars' },
        { name: 'ck_payment_method_type_not_empty', expr: 'LENGTH(TRIM(payment_method_type)) > 0', description: 'Method type required' },
        { name: 'ck_payment_status_not_empty', expr: 'LENGTH(TRIM(status)) > 0', description: 'Status required' },
      ],
      foreignKeys: [
        {
          name: 'fk_payments_transaction_id',
          columns: ['transaction_id'],
          references: { table: 'order_transactions', columns: ['id'] },
          onDelete: 'restrict',
          description: 'Protect transaction history',
        },
      ],
      indexes: [
        { name: 'ix_payments_transaction_id', columns: ['transaction_id'], description: 'FK lookups from order_transactions' },
        { name: 'ix_payments_status_created', columns: ['status', 'created_at'], description: 'Payment listings by status and date' },
        {
          name: 'ix_payments_wompi_transaction_id_unique',
          columns: ['wompi_transaction_id'],
          unique: true,
          where: 'wompi_transaction_id IS NOT NULL',
          description: 'External Wompi transaction ids are unique',
        },
        {
          name: 'ix_payments_wompi_payment_id_unique',
          columns: ['wompi_payment_id'],
          unique: true,
          where: 'wompi_payment_id IS NOT NULL',
          description: 'External Wompi payment ids are unique',
        },
      ],
    },
    products: {
      checks: [
        { name: 'ck_product_precio_venta_non_negative', expr: 'precio_venta IS NULL OR precio_venta >= 0', description: 'Sale price >= 0' },
        { name: 'ck_product_precio_costo_non_negative', expr: 'precio_costo IS NULL OR precio_costo >= 0', description: 'Cost price >= 0' },
        {
          name: 'ck_product_comision_non_negative',
          expr: 'comision_mestocker IS NULL OR comision_mestocker >= 0',
          description: 'Commission >= 0',
        },
        { name: 'ck_product_peso_non_negative', expr: 'peso IS NULL OR peso >= 0', description: 'Weight >= 0' },
        { name: 'ck_product_sku_not_empty', expr: 'LENGTH(TRIM(sku)) > 0', description: 'SKU required' },
        { name: 'ck_product_name_not_empty', expr: 'LENGTH(TRIM(name)) > 0', description: 'Name required' },
      ],
      foreignKeys: [
        {
          name: 'fk_products_vendedor_id',
          columns: ['vendedor_id'],
          references: { table: 'users', columns: ['id'] },
          onDelete: 'restrict',
          description: 'Protect vendors with products',
        },
      ],
    },
    users: {
      checks: [
        { name: 'ck_user_email_format', expr: "email LIKE '%@%.%'", description: 'Basic email validation' },
        {
          name: 'ck_user_security_clearance_range',
          expr: 'security_clearance_level BETWEEN 1 AND 5',
          description: 'Clearance 1-5',
        },
        { name: 'ck_user_performance_score_range', expr: 'performance_score BETWEEN 0 AND 100', description: 'Score 0-100' },
        { name: 'ck_user_failed_logins_non_negative', expr: 'failed_login_attempts >= 0', description: 'Failed logins >= 0' },
        { name: 'ck_user_otp_attempts_non_negative', expr: 'otp_attempts >= 0', description: 'OTP attempts >= 0' },
        { name: 'ck_user_reset_attempts_non_negative', expr: 'reset_attempts >= 0', description: 'Reset attempts >= 0' },
      ],
    },
    order_transactions: {
      foreignKeys: [
        {
          name: 'fk_order_transactions_order_id',
          columns: ['order_id'],
          references: { table: 'orders', columns: ['id'] },
          onDelete: 'cascade',
          description: 'Delete with order',
        },
        {
          name: 'fk_order_transactions_payment_method_id',
          columns: ['payment_method_id'],
          references: { table: 'payment_methods', columns: ['id'] },
          onDelete: 'set null',
          description: 'Allow method deletion',
        },
      ],
      indexes: [
        { name: 'ix_order_transactions_order_id', columns: ['order_id'], description: 'FK lookups from orders' },
        { name: 'ix_order_transactions_payment_method_id', columns: ['payment_method_id'], description: 'FK lookups from payment_methods' },
        {
          name: 'ix_order_transactions_gateway_id_unique',
          columns: ['gateway_transaction_id'],
          unique: true,
          where: 'gateway_transaction_id IS NOT NULL',
          description: 'Gateway transaction ids are unique',
        },
      ],
    },
    payment_methods: {
      foreignKeys: [
        {
          name: 'fk_payment_methods_buyer_id',
          columns: ['buyer_id'],
          references: { table: 'users', columns: ['id'] },
          onDelete: 'cascade',
          description: 'Delete with user',
        },
      ],
    },
  },
});

export default mestore;
