import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A small shop: two tables, the rows given, and a manifest with a description on each object. */
export const SHOP_SQL = `
  create table users (id int primary key, email text not null);
  create table orders (id int primary key, buyer_id int, total int, status text);
  insert into users values (1, 'a@example.com');
  insert into orders values (1, 1, 10, 'paid'), (2, 1, 20, 'paid');
`;

export const SHOP_MANIFEST = {
  version: 1,
  tables: {
    orders: {
      checks: [{ name: 'ck_total_positive', expr: 'total > 0', description: 'An order costs something' }],
      foreignKeys: [
        { name: 'fk_orders_buyer', columns: ['buyer_id'], references: { table: 'users', columns: ['id'] }, onDelete: 'cascade', description: 'Orders belong to a user' },
      ],
      indexes: [{ name: 'ix_orders_status', columns: ['status'], description: 'Listings by status' }],
    },
  },
};

/** A project directory (package.json, the manifest as shop.json), removed by dispose(). */
export function shopProject(files: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sd-adopt-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'shop', private: true }));
  writeFileSync(join(dir, 'shop.json'), JSON.stringify(SHOP_MANIFEST));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return { dir, manifest: join(dir, 'shop.json'), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
