import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { OnlineApplyResult } from './online-apply-bench.js';

const LABELS: Record<string, string> = {
  ours: 'schema-diff apply',
  'online-script': 'hand-written online script',
  'alembic-1tx': 'one transaction (Alembic)',
  'alembic-each': 'statements one by one',
};

/**
 * Writer latency during each apply shape, one panel per shape on a shared
 * log scale: the longest writer transaction started in each 100 ms, with the
 * migration's start and end as rules. Rendered to SVG in Node by vega-lite
 * and vega (no browser).
 */
export async function writerLatencySvg(result: OnlineApplyResult): Promise<string> {
  const values = result.scenarios.flatMap((s) => [
    ...s.timeline.map((p) => ({ shape: LABELS[s.shape] ?? s.shape, t: p.t, ms: Math.max(0.1, p.maxLatencyMs), failed: p.failed > 0 ? 'failed' : 'ok', kind: 'writers' })),
    { shape: LABELS[s.shape] ?? s.shape, t: 0, kind: 'migration' },
    { shape: LABELS[s.shape] ?? s.shape, t: s.migrationMs / 1000, kind: 'migration' },
  ]);
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `Writer latency during apply: MeStore, ${result.orders.toLocaleString('en-US')} orders, writers at ${result.writerRate} tx/s`,
      subtitle: 'longest writer transaction started in each 100 ms; grey rules: migration start and end',
    },
    data: { values },
    facet: { row: { field: 'shape', type: 'nominal', title: null, sort: result.scenarios.map((s) => LABELS[s.shape] ?? s.shape) } },
    spec: {
      width: 640,
      height: 110,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'migration'" }],
          mark: { type: 'rule', color: '#999', strokeDash: [4, 3] },
          encoding: { x: { field: 't', type: 'quantitative' } },
        },
        {
          transform: [{ filter: "datum.kind === 'writers'" }],
          mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.2 },
          encoding: {
            x: { field: 't', type: 'quantitative', title: 'seconds since the migration started' },
            y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'latency (ms)' },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'writers' && datum.failed === 'failed'" }],
          mark: { type: 'point', color: '#d62728', filled: true, size: 18 },
          encoding: { x: { field: 't', type: 'quantitative' }, y: { field: 'ms', type: 'quantitative' } },
        },
      ],
    },
    resolve: { scale: { x: 'shared', y: 'shared' } },
  };
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}
