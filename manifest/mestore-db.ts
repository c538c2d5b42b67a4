/**
 * MeStore's tables as a Kysely database type (the shape kysely-codegen emits),
 * so that manifest/mestore.ts has its table and column names checked by tsc.
 */
type Timestamp = Date | string;

export interface Users {
  id: string;
  email: string;
  full_name: string | null;
  user_type: string;
  security_clearance_level: number | null;
  performance_score: number | null;
  failed_login_attempts: number;
  otp_attempts: number;
  reset_attempts: number;
  is_active: boolean;
  created_at: Timestamp;
}

export interface Products {
  id: string;
  vendedor_id: string;
  sku: string;
  name: string;
  description: string | null;
  precio_venta: string | null;
  precio_costo: string | null;
  comision_mestocker: string | null;
  peso: string | null;
  status: string;
  created_at: Timestamp;
}

export interface Orders {
  id: number;
  order_number: string;
  buyer_id: string;
  subtotal: string;
  tax_amount: string;
  shipping_cost: string;
  discount_amount: string;
  total_amount: string;
  status: string;
  shipping_name: string;
  shipping_phone: string;
  shipping_address: string | null;
  created_at: Timestamp;
}

export interface OrderItems {
  id: number;
  order_id: number;
  product_id: string;
  product_name: string;
  product_sku: string;
  unit_price: string;
  quantity: number;
  total_price: string;
  created_at: Timestamp;
}

export interface PaymentMethods {
  id: number;
  buyer_id: string;
  method_type: string;
  last_four: string | null;
  is_default: boolean;
  created_at: Timestamp;
}

export interface OrderTransactions {
  id: number;
  order_id: number;
  payment_method_id: number | null;
  transaction_reference: string;
  gateway_transaction_id: string | null;
  amount: string;
  status: string;
  created_at: Timestamp;
}

export interface Payments {
  id: number;
  transaction_id: number;
  wompi_transaction_id: string | null;
  wompi_payment_id: string | null;
  amount_in_cents: number;
  currency: string;
  payment_method_type: string;
  status: string;
  created_at: Timestamp;
}

export interface MeStoreDB {
  users: Users;
  products: Products;
  orders: Orders;
  order_items: OrderItems;
  payment_methods: PaymentMethods;
  order_transactions: OrderTransactions;
  payments: Payments;
}
