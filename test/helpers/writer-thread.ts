import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startWriters, type WriterLoad, type WriterOptions, type WriterTx } from './writers.js';

/**
 * The writers of writers.ts on a thread of their own: the application a
 * migration runs beside is another process, so its latency must not include
 * time the migration's own JavaScript holds the event loop (planning 44
 * objects, parsing results). A worker thread has its own event loop; the
 * machine's two cores are still shared, as with a separate process. Times in
 * the returned log are on this thread's performance.now() clock.
 *
 * No jest here: the benchmark imports this file.
 */
export async function startWritersOnThread(options: WriterOptions): Promise<WriterLoad> {
  const worker = new Worker(new URL(import.meta.url), { workerData: options });
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('message', (m: { ready?: boolean; error?: string }) => (m.ready ? resolve() : reject(new Error(m.error))));
    worker.once('error', reject);
  });
  await ready;
  const finished = new Promise<readonly WriterTx[]>((resolve, reject) => {
    worker.once('message', (m: { log: readonly WriterTx[]; origin: number }) => {
      // the worker's clock starts at its own timeOrigin: shift its times onto this thread's clock
      const shift = m.origin - performance.timeOrigin;
      resolve(m.log.map((tx) => ({ ...tx, scheduled: tx.scheduled + shift, start: tx.start + shift, end: tx.end + shift })));
      void worker.terminate();
    });
    worker.once('error', reject);
  });
  return {
    finished,
    stop: async () => {
      worker.postMessage('stop');
      return finished;
    },
  };
}

/** In the worker: run the load, stop when asked, send the log back. */
async function runInWorker(): Promise<void> {
  const port = parentPort as NonNullable<typeof parentPort>;
  let load: WriterLoad;
  try {
    load = await startWriters(workerData as WriterOptions);
  } catch (e) {
    port.postMessage({ error: e instanceof Error ? e.message : String(e) });
    return;
  }
  port.on('message', (m) => {
    if (m === 'stop') void load.stop();
  });
  port.postMessage({ ready: true });
  const log = await load.finished;
  port.postMessage({ log, origin: performance.timeOrigin });
  port.close();
}

if (!isMainThread && (workerData as WriterOptions | undefined)?.url) void runInWorker();
