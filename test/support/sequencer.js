/**
 * Jest's order of test files, with one change for a fresh clone (CI's case). Jest runs the files that took
 * longest last time first; with no timings yet it orders by file size, which puts the corpus replay (a small
 * file, 15–25 s of replaying) last, with the other core idle. So, until there are timings, the suites that run
 * batch workflows (test/batches, test/workflows) go first.
 */
const { default: Sequencer } = require('@jest/test-sequencer');

const RUNS_WORKFLOWS = /[\\/]test[\\/](batches|workflows)[\\/]/;

class WorkflowSuitesFirst extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const untimedHeavy = sorted.filter((t) => t.duration == null && RUNS_WORKFLOWS.test(t.path));
    return [...untimedHeavy, ...sorted.filter((t) => !untimedHeavy.includes(t))];
  }
}

module.exports = WorkflowSuitesFirst;
