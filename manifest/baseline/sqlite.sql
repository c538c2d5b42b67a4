-- MeStore as it stands before the constraints plan (SQLite): inline, unnamed
-- foreign keys with no action, enums as VARCHAR, money as NUMERIC(10,2).
CREATE TABLE users (
  id                        VARCHAR(36) PRIMARY KEY,
  email                     VARCHAR(255) NOT NULL UNIQUE,
  full_name                 VARCHAR(200),
  user_type                 VARCHAR(20) NOT NULL DEFAULT 'BUYER',
  security_clearance_level  INTEGER DEFAULT 1,
  performance_score         FLOAT DEFAULT 0,
  failed_login_attempts     INTEGER NOT NULL DEFAULT 0,
  otp_attempts              INTEGER NOT NULL DEFAULT 0,
  reset_attempts            INTEGER NOT NULL DEFAULT 0,
  is_active                 BOOLEAN NOT NULL DEFAULT 1,
  created_at                DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE products (
  id                  VARCHAR(36) PRIMARY KEY,
  vendedor_id         VARCHAR(36) NOT NULL REFERENCES users(id),
  sku                 VARCHAR(100) NOT NULL,
  name                VARCHAR(200) NOT NULL,
  description         TEXT,
  precio_venta        NUMERIC(10,2),
  precio_costo        NUMERIC(10,2),
  comision_mestocker  NUMERIC(10,2),
  peso                NUMERIC(8,3),
  status              VARCHAR(20) NOT NULL DEFAULT 'DRAFT',
  created_at          DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE orders (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  order_number      VARCHAR(50) NOT NULL UNIQUE,
  buyer_id          VARCHAR(36) NOT NULL REFERENCES users(id),
  subtotal          NUMERIC(10,2) NOT NULL DEFAULT 0,
  tax_amount        NUMERIC(10,2) NOT NULL DEFAULT 0,
  shipping_cost     NUMERIC(10,2) NOT NULL DEFAULT 0,
  discount_amount   NUMERIC(10,2) NOT NULL DEFAULT 0,
  total_amount      NUMERIC(10,2) NOT NULL,
  status            VARCHAR(20) NOT NULL DEFAULT 'PENDING',
  shipping_name     VARCHAR(200) NOT NULL,
  shipping_phone    VARCHAR(20) NOT NULL,
  shipping_address  TEXT,
  created_at        DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE order_items (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id      INTEGER NOT NULL REFERENCES orders(id),
  product_id    VARCHAR(36) NOT NULL REFERENCES products(id),
  product_name  VARCHAR(200) NOT NULL,
  product_sku   VARCHAR(100) NOT NULL,
  unit_price    NUMERIC(10,2) NOT NULL,
  quantity      INTEGER NOT NULL,
  total_price   NUMERIC(10,2) NOT NULL,
  created_at    DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE payment_methods (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  buyer_id    VARCHAR(36) NOT NULL REFERENCES users(id),
  method_type VARCHAR(50) NOT NULL,
  last_four   VARCHAR(4),
  is_default  BOOLEAN NOT NULL DEFAULT 0,
  created_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE order_transactions (
  id                      INTEGER PRIMARY KEY AUTOINCREMENT,
  order_id                INTEGER NOT NULL REFERENCES orders(id),
  payment_method_id       INTEGER REFERENCES payment_methods(id),
  transaction_reference   VARCHAR(100) NOT NULL,
  gateway_transaction_id  VARCHAR(100),
  amount                  NUMERIC(10,2) NOT NULL,
  status                  VARCHAR(20) NOT NULL DEFAULT 'PENDING',
  created_at              DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE payments (
  id                    INTEGER PRIMARY KEY AUTOINCREMENT,
  transaction_id        INTEGER NOT NULL REFERENCES order_transactions(id),
  wompi_transaction_id  VARCHAR(100),
  wompi_payment_id      VARCHAR(100),
  amount_in_cents       INTEGER NOT NULL,
  currency              VARCHAR(3) NOT NULL DEFAULT 'COP',
  payment_method_type   VARCHAR(50) NOT NULL,
  status                VARCHAR(20) NOT NULL DEFAULT 'PENDING',
  created_at            DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
