/** Worker thread body for resize-pool.ts: runs pilResizeBicubic off the event loop. */
import { parentPort } from 'node:worker_threads';
import { pilResizeBicubic } from './pil-resize';

export interface ResizeTask {
  id: number;
  rgb: Uint8Array;
  width: number;
  height: number;
  outWidth: number;
  outHeight: number;
}

parentPort?.on('message', (task: ResizeTask) => {
  try {
    const out = pilResizeBicubic(task.rgb, task.width, task.height, task.outWidth, task.outHeight);
    parentPort?.postMessage({ id: task.id, out }, [out.buffer as ArrayBuffer]);
  } catch (err) {
    parentPort?.postMessage({ id: task.id, error: err instanceof Error ? err.message : String(err) });
  }
});
