/** Waiting in tests for something that happens elsewhere (a workflow, a phase, a server): poll until it holds. */
export { until } from '@ampoule/embedded-temporal/testing';
