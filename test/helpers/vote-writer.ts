/** Child process for test/durability.test.ts: casts votes one by one and prints "acked N" after each commit. */
import { openStore } from '../../core/store/store.ts';

const [dataDir, pollId] = process.argv.slice(2);
const store = openStore({ dataDir: dataDir!, clock: { now: () => Date.now() } });
for (let i = 0; ; i++) {
  store.castVote(Number(pollId), `u${i}`, i % 2 ? 'A' : 'B');
  process.stdout.write(`acked ${i}\n`);
  if (i % 50 === 0) await new Promise((r) => setImmediate(r));
}
