/** Worker thread of off-thread.ts: draws one picture per message and sends its PNG bytes back. */
import { parentPort } from 'node:worker_threads';
import { renderers, type PictureName } from './renderers.ts';

parentPort!.on('message', (m: { id: number; name: PictureName; args: unknown[] }) => {
  try {
    const png = (renderers[m.name] as (...a: unknown[]) => Buffer)(...m.args);
    const bytes = new Uint8Array(png.buffer, png.byteOffset, png.byteLength).slice();
    parentPort!.postMessage({ id: m.id, png: bytes }, [bytes.buffer]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  }
});
