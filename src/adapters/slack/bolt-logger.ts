import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../../log.js';

/**
 * Bolt's ack lines hold the ack's body when it is a string: a reply serialized once (sharedReply), which may
 * name customers. Only its length is logged.
 */
function withoutAckBody(line: string): string {
  if (!line.startsWith('ack() ')) return line;
  const at = line.indexOf('(body: ');
  return at < 0 || line.startsWith('[object Object])', at + 7) ? line : `${line.slice(0, at)}(body: ${line.length - at - 8} characters)`;
}

/** Bolt logs through ours, so LOG_LEVEL governs it too. */
export function boltLogger(log: Logger): BoltLogger {
  return {
    // Bolt writes several debug lines a request: below LOG_LEVEL they are not even looked at. Each carries the
    // reply whole: one message is passed on as it is, not copied into a joined one.
    debug: log.level && log.level !== 'debug' ? () => {} : (...m) => log.debug(m.length === 1 ? withoutAckBody(String(m[0])) : m.map(String).join(' ')),
    info: (...m) => log.info(m.map(String).join(' ')),
    warn: (...m) => log.warn(m.map(String).join(' ')),
    error: (...m) => log.error(m.map(String).join(' ')),
    setLevel: () => {},
    getLevel: () => LogLevel.DEBUG,
    setName: () => {},
  };
}
