/** The `bin/embedded-temporal` command line: Temporal CLI flags, errors, and what they configure. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { parseArgs } from '../cli';
import { BIN, embeddedOnly, freePort, spawnServer } from './harness';

describe('parseArgs', () => {
  test('the flags TestWorkflowEnvironment.createLocal passes', () => {
    const opts = parseArgs([
      'server',
      'start-dev',
      '--port',
      '7777',
      '--namespace',
      'default',
      '--ip',
      '127.0.0.1',
      '--log-format',
      'pretty',
      '--log-level',
      'warn',
      '--dynamic-config-value',
      'frontend.enableServerVersionCheck=false',
      '--dynamic-config-value',
      'frontend.enableUpdateWorkflowExecution=true',
      '--headless',
      '--search-attribute',
      'CustomKeywordField=KeywordList',
      '--search-attribute',
      'Amount=Double',
    ]);
    expect(opts.port).toBe(7777);
    expect(opts.ip).toBe('127.0.0.1');
    expect(opts.headless).toBe(true);
    expect(opts.logLevel).toBe('warn');
    expect(opts.searchAttributes).toEqual({ CustomKeywordField: 'KeywordList', Amount: 'Double' });
    expect(opts.dynamicConfig['frontend.enableServerVersionCheck']).toBe('false');
  });

  test('--flag=value, short flags, repeatable namespaces, and the store flags', () => {
    const opts = parseArgs([
      'server',
      'start-dev',
      '-p=0',
      '-n',
      'a',
      '--namespace=b',
      '-f',
      '/tmp/x',
      '--ui-port',
      '8233',
    ]);
    expect(opts.port).toBe(0);
    expect(opts.namespaces).toEqual(['a', 'b']);
    expect(opts.dbFilename).toBe('/tmp/x');
    expect(parseArgs(['server', 'start-dev', '--db-url', 'postgres://u@h/db']).dbUrl).toBe('postgres://u@h/db');
  });

  test("the test server's form: <port> [--enable-time-skipping]", () => {
    const opts = parseArgs(['7234', '--enable-time-skipping']);
    expect(opts.port).toBe(7234);
    expect(opts.timeSkipping).toBe(true);
  });

  test.each([
    [['server', 'start-dev', '--bogus'], /unknown flag --bogus/],
    [['server', 'start-dev', '--port', 'abc'], /port number/],
    [['server', 'start-dev', '--port'], /needs a value/],
    [['server', 'start-dev', '--search-attribute', 'X=Colour'], /Name=Type/],
    [['server', 'start-dev', '--log-level', 'loud'], /--log-level/],
    [['server', 'start-dev', '--db-url', 'mysql://x'], /postgres/],
    [['server', 'start-dev', '--db-url', 'postgres://x', '-f', '/tmp/y'], /either/],
    [['start'], /expected "server start-dev"/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

embeddedOnly('the executable', () => {
  test('a bad flag exits with status 2 and says why', () => {
    const res = spawnSync(BIN, ['server', 'start-dev', '--no-such-flag'], { encoding: 'utf8' });
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/unknown flag --no-such-flag/);
  });

  test('namespaces and search attributes from flags exist; a persisted namespace survives a restart', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'et-cli-'));
    const port = await freePort();
    let server = await spawnServer(
      ['--namespace', 'extra', '--search-attribute', 'BatchNumber=Keyword', '--db-filename', dir],
      port,
    );
    try {
      let connection = await Connection.connect({ address: server.address });
      const ns = await connection.workflowService.describeNamespace({ namespace: 'extra' });
      expect(ns.namespaceInfo?.name).toBe('extra');
      const sa = await connection.operatorService.listSearchAttributes({ namespace: 'extra' });
      expect(sa.customAttributes?.BatchNumber).toBe(temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);
      await connection.workflowService.registerNamespace({ namespace: 'registered-later' });
      await connection.operatorService.addSearchAttributes({
        namespace: 'default',
        searchAttributes: { Added: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT },
      });
      await connection.close();
      await server.kill('SIGKILL');

      server = await spawnServer(['--db-filename', dir], port);
      connection = await Connection.connect({ address: server.address });
      expect(
        (await connection.workflowService.describeNamespace({ namespace: 'registered-later' })).namespaceInfo?.name,
      ).toBe('registered-later');
      const after = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      expect(after.customAttributes?.Added).toBe(temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT);
      await connection.close();
    } finally {
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
