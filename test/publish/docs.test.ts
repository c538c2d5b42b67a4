import { readFileSync } from 'node:fs';
import { mestore } from '../../manifest/mestore.js';
import { defineManifest } from '../../src/manifest/define.js';
import { renderConstraintsDoc } from '../../src/publish/constraints-doc.js';
import { onDeleteWords, onUpdateWords, singular } from '../../src/publish/fk-words.js';

test("MeStore's committed docs/constraints.md is what `schema-diff docs` renders (regenerate: schema-diff docs -m manifest/mestore.ts --out docs/constraints.md)", () => {
  const text = renderConstraintsDoc(mestore, 'manifest/mestore.ts');
  expect(readFileSync('docs/constraints.md', 'utf8')).toBe(text.endsWith('\n') ? text : text + '\n');
});

test('foreign keys in words, as the customer plan asks ("Document FK cascade behavior")', () => {
  const doc = renderConstraintsDoc(mestore, 'manifest/mestore.ts');
  expect(doc).toContain('deleting a user deletes its payment methods');
  expect(doc).toContain('a product with order items cannot be deleted');
  expect(doc).toContain('deleting a payment method keeps its order transactions, with payment_method_id set to NULL');
  expect(doc).toContain('users ||--o{ payment_methods : "fk_payment_methods_buyer_id: on delete cascade"');
  expect(doc).toContain('| `ck_order_total_positive` | check | `total_amount > 0` | Ensures positive totals | The order total must be greater than zero. | `ORDER_TOTAL_NOT_POSITIVE` | critical |');
});

test('words for every action, and names made singular', () => {
  const fk = { parent: 'categories', child: 'order_items', columns: ['category_id'], onDelete: 'set default', onUpdate: 'cascade' } as const;
  expect(singular('categories')).toBe('category');
  expect(singular('addresses')).toBe('address');
  expect(singular('status')).toBe('status');
  expect(onDeleteWords(fk)).toBe('deleting a category keeps its order items, with category_id set to the column default');
  expect(onUpdateWords(fk)).toBe("changing a category's key changes category_id of its order items too");
  expect(onDeleteWords({ ...fk, onDelete: 'no action', deferred: true })).toBe('a category with order items cannot be deleted (checked at commit)');
});

test('without message and code: the description and a code from the name; SQL with pipes stays in its cell', () => {
  const doc = renderConstraintsDoc(
    defineManifest({
      tables: {
        'audit.events': { checks: [{ name: 'ck_events_label', expr: "label || 'x' <> 'x'", description: 'Label required', severity: 'warning' }] },
        lonely: { indexes: [{ name: 'ix_lonely', columns: ['a'] }] },
      },
    }),
    'm.json',
  );
  expect(doc).toContain("| `ck_events_label` | check | `label \\|\\| 'x' <> 'x'` | Label required | Label required | `EVENTS_LABEL` | warning |");
  expect(doc).toContain('  audit_events {\n  }');
});
