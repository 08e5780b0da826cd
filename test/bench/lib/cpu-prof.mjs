// Preloaded with `--import` (NODE_OPTIONS), as node 20 refuses `--cpu-prof` there: profiles the
// process from start to exit and writes a .cpuprofile (Chrome DevTools format) into
// GATEHOUSE_CPU_PROF_DIR. The local inspector session answers synchronously, so the profile is
// taken in the 'exit' handler.
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.GATEHOUSE_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  // Wall-clock time of the profile's start, so a window the benchmark prints (epoch ms) can be cut out.
  const startedAt = Date.now();
  process.once('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err)
        writeFileSync(
          join(dir, `cp-${process.pid}.cpuprofile`),
          JSON.stringify({ ...res.profile, gatehouseStartedAtEpochMs: startedAt }),
        );
    });
  });
}
