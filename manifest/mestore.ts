import { defineManifest } from '../src/manifest/define.js';
import type { MeStoreDB } from './mestore-db.js';

/**
 * MeStore's "Database Constraints Implementation Plan" (BUG CRÍTICO #5), complete:
 * 29 CHECK constraints, 7 foreign-key action fixes, 5 indexes and 3 partial
 * unique indexes, plus the 4 indexes its risk section promises ("Indexes added
 * for FK columns") that the plan's own list left out: a foreign key without
 * one makes every delete of a parent scan the child table (plan warns
 * FK_WITHOUT_INDEX). Descriptions are the plan's own; every object has a
 * `message` for end users and a `code` for API responses (explainViolation).
 */
export const mestore = defineManifest<MeStoreDB>({
  version: 1,
  name: 'mestore',
  tables: {
    orders: {
      checks: [
        {
          name: 'ck_order_subtotal_non_negative',
          expr: 'subtotal >= 0',
          description: 'Prevents negative subtotals',
          message: 'The order subtotal cannot be negative.',
          code: 'ORDER_SUBTOTAL_NEGATIVE',
        },
        {
          name: 'ck_order_tax_non_negative',
          expr: 'tax_amount >= 0',
          description: 'Prevents negative taxes',
          message: 'The order tax cannot be negative.',
          code: 'ORDER_TAX_NEGATIVE',
        },
        {
          name: 'ck_order_shipping_non_negative',
          expr: 'shipping_cost >= 0',
          description: 'Prevents negative shipping',
          message: 'The shipping cost cannot be negative.',
          code: 'ORDER_SHIPPING_NEGATIVE',
        },
        {
          name: 'ck_order_discount_non_negative',
          expr: 'discount_amount >= 0',
          description: 'Prevents negative discounts',
          message: 'The discount cannot be negative.',
          code: 'ORDER_DISCOUNT_NEGATIVE',
        },
        {
          name: 'ck_order_total_positive',
          expr: 'total_amount > 0',
          description: 'Ensures positive totals',
          message: 'The order total must be greater than zero.',
          code: 'ORDER_TOTAL_NOT_POSITIVE',
        },
        {
          name: 'ck_order_total_calculation',
          expr: 'ABS(total_amount - (subtotal + tax_amount + shipping_cost - discount_amount)) <= 0.01',
          description: 'Validates total = sum(components)',
          message: 'The order total must equal subtotal + tax + shipping - discount.',
          code: 'ORDER_TOTAL_MISMATCH',
        },
        {
          name: 'ck_order_shipping_name_not_empty',
          expr: 'LENGTH(TRIM(shipping_name)) > 0',
          description: 'Ensures shipping info present',
          message: 'Please enter the name to ship the order to.',
          code: 'ORDER_SHIPPING_NAME_REQUIRED',
        },
        {
          name: 'ck_order_shipping_phone_not_empty',
          expr: 'LENGTH(TRIM(shipping_phone)) > 0',
          description: 'Ensures shipping info present',
          message: 'Please enter a phone number for the delivery.',
          code: 'ORDER_SHIPPING_PHONE_REQUIRED',
        },
      ],
      foreignKeys: [
        {
          name: 'fk_orders_buyer_id',
          columns: ['buyer_id'],
          references: { table: 'users', columns: ['id'] },
          onDelete: 'restrict',
          description: 'Protect buyers with orders',
          message: 'The buyer does not exist, or still has orders and cannot be deleted.',
          code: 'ORDER_BUYER_CONFLICT',
        },
      ],
      indexes: [
        {
          name: 'ix_orders_status_created',
          columns: ['status', 'created_at'],
          description: 'Order listings by status and date',
          message: 'Order listings by status and date.',
          code: 'ORDER_STATUS_CREATED_INDEX',
        },
        {
          name: 'ix_orders_buyer_id',
          columns: ['buyer_id'],
          description: 'Indexes added for FK columns',
          message: 'Orders by buyer.',
          code: 'ORDER_BUYER_INDEX',
        },
      ],
    },
    order_items: {
      checks: [
        {
          name: 'ck_order_item_quantity_positive',
          expr: 'quantity > 0',
          description: 'Quantity > 0',
          message: 'The quantity must be at least 1.',
          code: 'ORDER_ITEM_QUANTITY_NOT_POSITIVE',
        },
        {
          name: 'ck_order_item_unit_price_positive',
          expr: 'unit_price > 0',
          description: 'Unit price > 0',
          message: 'The unit price must be greater than zero.',
          code: 'ORDER_ITEM_PRICE_NOT_POSITIVE',
        },
        {
          name: 'ck_order_item_total_calculation',
          expr: 'ABS(total_price - unit_price * quantity) <= 0.01',
          description: 'Total = price * quantity',
          message: 'The line total must equal unit price × quantity.',
          code: 'ORDER_ITEM_TOTAL_MISMATCH',
        },
        {
          name: 'ck_order_item_product_name_not_empty',
          expr: 'LENGTH(TRIM(product_name)) > 0',
          description: 'Product info required',
          message: 'Each order line needs the product name.',
          code: 'ORDER_ITEM_PRODUCT_NAME_REQUIRED',
        },
        {
          name: 'ck_order_item_product_sku_not_empty',
          expr: 'LENGTH(TRIM(product_sku)) > 0',
          description: 'SKU required',
          message: 'Each order line needs the product SKU.',
          code: 'ORDER_ITEM_PRODUCT_SKU_REQUIRED',
        },
      ],
      foreignKeys: [
        {
          name: 'fk_order_items_product_id',
          columns: ['product_id'],
          references: { table: 'products', columns: ['id'] },
          onDelete: 'restrict',
          description: 'Protect products in orders',
          message: 'The product does not exist, or is part of an order and cannot be deleted.',
          code: 'ORDER_ITEM_PRODUCT_CONFLICT',
        },
      ],
      indexes: [
        {
          name: 'ix_order_items_product_id',
          columns: ['product_id'],
          description: 'Indexes added for FK columns',
          message: 'Order items by product.',
          code: 'ORDER_ITEM_PRODUCT_INDEX',
        },
      ],
    },
    payments: {
      checks: [
        {
          name: 'ck_payment_amount_positive',
          expr: 'amount_in_cents > 0',
          description: 'Amount > 0',
          message: 'The payment amount must be greater than zero.',
          code: 'PAYMENT_AMOUNT_NOT_POSITIVE',
        },
        {
          name: 'ck_payment_currency_format',
          expr: 'LENGTH(currency) = 3',
          description: 'Currency = 3 chars',
          message: 'The currency must be a 3-letter code such as COP.',
          code: 'PAYMENT_CURRENCY_INVALID',
        },
        {
          name: 'ck_payment_method_type_not_empty',
          expr: 'LENGTH(TRIM(payment_method_type)) > 0',
          description: 'Method type required',
          message: 'Please choose a payment method.',
          code: 'PAYMENT_METHOD_TYPE_REQUIRED',
        },
        {
          name: 'ck_payment_status_not_empty',
          expr: 'LENGTH(TRIM(status)) > 0',
          description: 'Status required',
          message: 'The payment needs a status.',
          code: 'PAYMENT_STATUS_REQUIRED',
        },
      ],
      foreignKeys: [
        {
          name: 'fk_payments_transaction_id',
          columns: ['transaction_id'],
          references: { table: 'order_transactions', columns: ['id'] },
          onDelete: 'restrict',
          description: 'Protect transaction history',
          message: 'The transaction does not exist, or has payments and cannot be deleted.',
          code: 'PAYMENT_TRANSACTION_CONFLICT',
        },
      ],
      indexes: [
        {
          name: 'ix_payments_transaction_id',
          columns: ['transaction_id'],
          description: 'FK lookups from order_transactions',
          message: 'Payments by transaction.',
          code: 'PAYMENT_TRANSACTION_INDEX',
        },
        {
          name: 'ix_payments_status_created',
          columns: ['status', 'created_at'],
          description: 'Payment listings by status and date',
          message: 'Payment listings by status and date.',
          code: 'PAYMENT_STATUS_CREATED_INDEX',
        },
        {
          name: 'ix_payments_wompi_transaction_id_unique',
          columns: ['wompi_transaction_id'],
          unique: true,
          where: 'wompi_transaction_id IS NOT NULL',
          description: 'External Wompi transaction ids are unique',
          message: 'This Wompi transaction is already recorded.',
          code: 'PAYMENT_WOMPI_TRANSACTION_DUPLICATE',
        },
        {
          name: 'ix_payments_wompi_payment_id_unique',
          columns: ['wompi_payment_id'],
          unique: true,
          where: 'wompi_payment_id IS NOT NULL',
          description: 'External Wompi payment ids are unique',
          message: 'This Wompi payment is already recorded.',
          code: 'PAYMENT_WOMPI_PAYMENT_DUPLICATE',
        },
      ],
    },
    products: {
      checks: [
        {
          name: 'ck_product_precio_venta_non_negative',
          expr: 'precio_venta IS NULL OR precio_venta >= 0',
          description: 'Sale price >= 0',
          message: 'The sale price cannot be negative.',
          code: 'PRODUCT_SALE_PRICE_NEGATIVE',
        },
        {
          name: 'ck_product_precio_costo_non_negative',
          expr: 'precio_costo IS NULL OR precio_costo >= 0',
          description: 'Cost price >= 0',
          message: 'The cost price cannot be negative.',
          code: 'PRODUCT_COST_PRICE_NEGATIVE',
        },
        {
          name: 'ck_product_comision_non_negative',
          expr: 'comision_mestocker IS NULL OR comision_mestocker >= 0',
          description: 'Commission >= 0', message: 'The commission cannot be negative.', code: 'PRODUCT_COMMISSION_NEGATIVE',
        },
        {
          name: 'ck_product_peso_non_negative',
          expr: 'peso IS NULL OR peso >= 0',
          description: 'Weight >= 0',
          message: 'The weight cannot be negative.',
          code: 'PRODUCT_WEIGHT_NEGATIVE',
        },
        {
          name: 'ck_product_sku_not_empty',
          expr: 'LENGTH(TRIM(sku)) > 0',
          description: 'SKU required',
          message: 'Please enter the product SKU.',
          code: 'PRODUCT_SKU_REQUIRED',
        },
        {
          name: 'ck_product_name_not_empty',
          expr: 'LENGTH(TRIM(name)) > 0',
          description: 'Name required',
          message: 'Please enter the product name.',
          code: 'PRODUCT_NAME_REQUIRED',
        },
      ],
      foreignKeys: [
        {
          name: 'fk_products_vendedor_id',
          columns: ['vendedor_id'],
          references: { table: 'users', columns: ['id'] },
          onDelete: 'restrict',
          description: 'Protect vendors with products',
          message: 'The vendor does not exist, or still has products and cannot be deleted.',
          code: 'PRODUCT_VENDOR_CONFLICT',
        },
      ],
      indexes: [
        {
          name: 'ix_products_vendedor_id',
          columns: ['vendedor_id'],
          description: 'Indexes added for FK columns',
          message: 'Products by vendor.',
          code: 'PRODUCT_VENDOR_INDEX',
        },
      ],
    },
    users: {
      checks: [
        {
          name: 'ck_user_email_format',
          expr: "email LIKE '%@%.%'",
          description: 'Basic email validation',
          message: 'Please enter a valid email address.',
          code: 'USER_EMAIL_INVALID',
        },
        {
          name: 'ck_user_security_clearance_range',
          expr: 'security_clearance_level BETWEEN 1 AND 5',
          description: 'Clearance 1-5',
          message: 'The security clearance level must be between 1 and 5.',
          code: 'USER_CLEARANCE_OUT_OF_RANGE',
        },
        {
          name: 'ck_user_performance_score_range',
          expr: 'performance_score BETWEEN 0 AND 100',
          description: 'Score 0-100',
          message: 'The performance score must be between 0 and 100.',
          code: 'USER_SCORE_OUT_OF_RANGE',
        },
        {
          name: 'ck_user_failed_logins_non_negative',
          expr: 'failed_login_attempts >= 0',
          description: 'Failed logins >= 0',
          message: 'The failed login count cannot be negative.',
          code: 'USER_FAILED_LOGINS_NEGATIVE',
        },
        {
          name: 'ck_user_otp_attempts_non_negative',
          expr: 'otp_attempts >= 0',
          description: 'OTP attempts >= 0',
          message: 'The OTP attempt count cannot be negative.',
          code: 'USER_OTP_ATTEMPTS_NEGATIVE',
        },
        {
          name: 'ck_user_reset_attempts_non_negative',
          expr: 'reset_attempts >= 0',
          description: 'Reset attempts >= 0',
          message: 'The password reset attempt count cannot be negative.',
          code: 'USER_RESET_ATTEMPTS_NEGATIVE',
        },
      ],
    },
    order_transactions: {
      foreignKeys: [
        {
          name: 'fk_order_transactions_order_id',
          columns: ['order_id'],
          references: { table: 'orders', columns: ['id'] },
          onDelete: 'cascade',
          description: 'Delete with order', message: 'The order does not exist.', code: 'TRANSACTION_ORDER_NOT_FOUND',
        },
        {
          name: 'fk_order_transactions_payment_method_id',
          columns: ['payment_method_id'],
          references: { table: 'payment_methods', columns: ['id'] },
          onDelete: 'set null',
          description: 'Allow method deletion',
          message: 'The payment method does not exist.',
          code: 'TRANSACTION_PAYMENT_METHOD_NOT_FOUND',
        },
      ],
      indexes: [
        {
          name: 'ix_order_transactions_order_id',
          columns: ['order_id'],
          description: 'FK lookups from orders',
          message: 'Transactions by order.',
          code: 'TRANSACTION_ORDER_INDEX',
        },
        {
          name: 'ix_order_transactions_payment_method_id',
          columns: ['payment_method_id'],
          description: 'FK lookups from payment_methods',
          message: 'Transactions by payment method.',
          code: 'TRANSACTION_PAYMENT_METHOD_INDEX',
        },
        {
          name: 'ix_order_transactions_gateway_id_unique',
          columns: ['gateway_transaction_id'],
          unique: true,
          where: 'gateway_transaction_id IS NOT NULL',
          description: 'Gateway transaction ids are unique',
          message: 'This gateway transaction is already recorded.',
          code: 'TRANSACTION_GATEWAY_ID_DUPLICATE',
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
          description: 'Delete with user', message: 'The buyer does not exist.', code: 'PAYMENT_METHOD_BUYER_NOT_FOUND',
        },
      ],
      indexes: [
        {
          name: 'ix_payment_methods_buyer_id',
          columns: ['buyer_id'],
          description: 'Indexes added for FK columns',
          message: 'Payment methods by buyer.',
          code: 'PAYMENT_METHOD_BUYER_INDEX',
        },
      ],
    },
  },
});

export default mestore;
