/**
 * The runtime under load, in its own process (as in production): started by
 * bench/run.ts with the configuration in the environment; answers memory and
 * passivation requests over the IPC channel.
 */
import { createRuntime, loadConfig } from '../runtime/index.ts';
import { dealEntity } from '../machines/index.ts';
import { benchEntity } from './machine.ts';

const rt = createRuntime(loadConfig(process.env), { entities: [dealEntity, benchEntity] });
await rt.start();

process.on('message', (m: { type: string }) => {
  if (m.type === 'memory') {
    globalThis.gc?.();
    const mem = process.memoryUsage();
    process.send!({ type: 'memory', rss: mem.rss, heapUsed: mem.heapUsed, active: rt.host.cells.size });
  } else if (m.type === 'passivate') {
    const n = rt.host.cells.passivate(0);
    process.send!({ type: 'passivated', n });
  } else if (m.type === 'stats') {
    process.send!({ type: 'stats', ...rt.host.stats, meanBatch: rt.host.stats.committedMessages / rt.host.stats.commits });
  } else if (m.type === 'stop') {
    void rt.stop().then(() => process.exit(0));
  }
});
process.send!({ type: 'ready' });

