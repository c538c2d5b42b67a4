-- MeStore as it stands before the constraints plan (PostgreSQL).
-- Foreign keys carry their default names and no action, as the ORM created them.
CREATE TABLE users (
  id                        varchar(36) PRIMARY KEY,
  email                     varchar(255) NOT NULL UNIQUE,
  full_name                 varchar(200),
  user_type                 varchar(20) NOT NULL DEFAULT 'BUYER',
  security_clearance_level  integer DEFAULT 1,
  performance_score         double precision DEFAULT 0,
  failed_login_attempts     integer NOT NULL DEFAULT 0,
  otp_attempts              integer NOT NULL DEFAULT 0,
  reset_attempts            integer NOT NULL DEFAULT 0,
  is_active                 boolean NOT NULL DEFAULT true,
  created_at                timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
  id                  varchar(36) PRIMARY KEY,
  vendedor_id         varchar(36) NOT NULL REFERENCES users(id),
  sku                 varchar(100) NOT NULL,
  name                varchar(200) NOT NULL,
  description         text,
  precio_venta        numeric(10,2),
  precio_costo        numeric(10,2),
  comision_mestocker  numeric(10,2),
  peso                numeric(8,3),
  status              varchar(20) NOT NULL DEFAULT 'DRAFT',
  created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
  id                serial PRIMARY KEY,
  order_number      varchar(50) NOT NULL UNIQUE,
  buyer_id          varchar(36) NOT NULL REFERENCES users(id),
  subtotal          numeric(10,2) NOT NULL DEFAULT 0,
  tax_amount        numeric(10,2) NOT NULL DEFAULT 0,
  shipping_cost     numeric(10,2) NOT NULL DEFAULT 0,
  discount_amount   numeric(10,2) NOT NULL DEFAULT 0,
  total_amount      numeric(10,2) NOT NULL,
  status            varchar(20) NOT NULL DEFAULT 'PENDING',
  shipping_name     varchar(200) NOT NULL,
  shipping_phone    varchar(20) NOT NULL,
  shipping_address  text,
  created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE order_items (
  id            serial PRIMARY KEY,
  order_id      integer NOT NULL REFERENCES orders(id),
  product_id    varchar(36) NOT NULL REFERENCES products(id),
  product_name  varchar(200) NOT NULL,
  product_sku   varchar(100) NOT NULL,
  unit_price    numeric(10,2) NOT NULL,
  quantity      integer NOT NULL,
  total_price   numeric(10,2) NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payment_methods (
  id          serial PRIMARY KEY,
  buyer_id    varchar(36) NOT NULL REFERENCES users(id),
  method_type varchar(50) NOT NULL,
  last_four   varchar(4),
  is_default  boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE order_transactions (
  id                      serial PRIMARY KEY,
  order_id                integer NOT NULL REFERENCES orders(id),
  payment_method_id       integer REFERENCES payment_methods(id),
  transaction_reference   varchar(100) NOT NULL,
  gateway_transaction_id  varchar(100),
  amount                  numeric(10,2) NOT NULL,
  status                  varchar(20) NOT NULL DEFAULT 'PENDING',
  created_at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payments (
  id                    serial PRIMARY KEY,
  transaction_id        integer NOT NULL REFERENCES order_transactions(id),
  wompi_transaction_id  varchar(100),
  wompi_payment_id      varchar(100),
  amount_in_cents       integer NOT NULL,
  currency              varchar(3) NOT NULL DEFAULT 'COP',
  payment_method_type   varchar(50) NOT NULL,
  status                varchar(20) NOT NULL DEFAULT 'PENDING',
  created_at            timestamptz NOT NULL DEFAULT now()
);
