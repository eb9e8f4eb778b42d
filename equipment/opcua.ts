/**
 * node-opcua, loaded quietly. The library writes warnings straight to the console, some of them while it
 * loads; its loggers are pointed at `opcuaLog` first (debug level in pino), then the library is re-exported.
 * Everything in Ampoule imports node-opcua from here.
 */
import { setDebugLogger, setErrorLogger, setWarningLogger } from 'node-opcua-debug';

type Sink = (message: string) => void;
const sinks: { warn: Sink; error: Sink } = { warn: () => {}, error: (m) => process.stderr.write(`node-opcua: ${m}\n`) };

setDebugLogger(() => {});
setWarningLogger((...args: unknown[]) => sinks.warn(args.map(String).join(' ')));
setErrorLogger((...args: unknown[]) => sinks.error(args.map(String).join(' ')));

/** Routes node-opcua's own warnings and errors (to pino, say). */
export function routeOpcuaLogs(warn: Sink, error: Sink): void {
  sinks.warn = warn;
  sinks.error = error;
}

export * from 'node-opcua';
