/** How a process stops: every part in order, a failing one logged and passed over, the database still closed. */
import pino from 'pino';
import { stopInOrder } from '../../bin/shutdown';

test('parts stop in order; one that fails is logged and the rest still stop', async () => {
  const stopped: string[] = [];
  const logged: unknown[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => logged.push(JSON.parse(line)) });
  const clean = await stopInOrder(log, [
    { name: 'the API server', stop: async () => stopped.push('api') },
    undefined,
    {
      name: 'the batch worker',
      stop: async () => {
        throw new Error('worker wedged');
      },
    },
    { name: 'the database', stop: () => stopped.push('database') },
  ]);
  expect(stopped).toEqual(['api', 'database']);
  expect(clean).toBe(false);
  expect(logged).toEqual([
    expect.objectContaining({
      part: 'the batch worker',
      msg: 'stopping the batch worker failed; stopping the rest',
      err: expect.objectContaining({ message: 'worker wedged' }),
    }),
  ]);
  expect(await stopInOrder(log, [{ name: 'the database', stop: () => undefined }])).toBe(true);
});
