/**
 * Jest's order of test files: failed last time first, then the longest first, so that no core idles at the end.
 * Jest knows a file's length only from an earlier run on this machine and config, and runs the files it has no
 * time for first, by file size — on a fresh clone (CI's case) that puts the corpus replay, a small file with 15–25 s
 * of replaying, last, with the other core idle. Here a file without a time gets an estimate instead: the suites that
 * run batch workflows (test/batches, test/workflows) long, the others short.
 */
const { default: Sequencer } = require('@jest/test-sequencer');

const RUNS_WORKFLOWS = /[\\/]test[\\/](batches|workflows)[\\/]/;
const ESTIMATE_MS = { workflows: 20_000, other: 3_000 };

class LongestFirst extends Sequencer {
  sort(tests) {
    // Jest reads the known times from the tests too (to decide whether to run a few quick files in band).
    for (const t of tests) t.duration = this.time(t);
    const length = (t) => this.time(t) ?? (RUNS_WORKFLOWS.test(t.path) ? ESTIMATE_MS.workflows : ESTIMATE_MS.other);
    return [...tests].sort((a, b) => {
      const failedA = this.hasFailed(a);
      if (failedA !== this.hasFailed(b)) return failedA ? -1 : 1;
      return length(b) - length(a);
    });
  }
}

module.exports = LongestFirst;
