import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedCall } from './fake-slack.js';

/*
 * @slack/socket-mode 3.x connects with undici's WebSocket client, so `ws` is not in
 * node_modules; the server side of RFC 6455 that Socket Mode needs (one text frame
 * per message, ping/pong, the close handshake) is small enough to speak directly.
 */

const opcode = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** One unmasked, unfragmented server-to-client frame. */
function frame(op: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const length = payload.length;
  const head =
    length < 126 ? Buffer.from([0x80 | op, length])
    : length < 0x10000 ? Buffer.from([0x80 | op, 126, length >> 8, length & 0xff])
    : Buffer.concat([Buffer.from([0x80 | op, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(length)); return b; })()]);
  return Buffer.concat([head, payload]);
}

/** Splits masked client-to-server frames off the front of `buffer`; returns what is left over. */
function readFrames(buffer: Buffer, onFrame: (op: number, fin: boolean, payload: Buffer) => void): Buffer {
  let rest = buffer;
  for (;;) {
    if (rest.length < 2) return rest;
    const fin = (rest[0]! & 0x80) !== 0;
    const op = rest[0]! & 0x0f;
    const masked = (rest[1]! & 0x80) !== 0;
    let length = rest[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (rest.length < 4) return rest;
      length = rest.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (rest.length < 10) return rest;
      length = Number(rest.readBigUInt64BE(2));
      offset = 10;
    }
    const maskLength = masked ? 4 : 0;
    if (rest.length < offset + maskLength + length) return rest;
    const mask = rest.subarray(offset, offset + maskLength);
    const payload = Buffer.from(rest.subarray(offset + maskLength, offset + maskLength + length));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
    rest = rest.subarray(offset + maskLength + length);
    onFrame(op, fin, payload);
  }
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] ?? '').includes('json')) return JSON.parse(text || '{}');
  const form = Object.fromEntries(new URLSearchParams(text));
  // The Web API client form-encodes nested values as JSON strings.
  for (const key of ['blocks', 'attachments']) if (typeof form[key] === 'string') form[key] = JSON.parse(form[key] as string);
  return form;
}

export type EnvelopeType = 'slash_commands' | 'interactive';

/** What the Socket Mode client sends back for an envelope: `ack(body)` becomes `{ envelope_id, payload: body }`. */
export interface EnvelopeAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

export interface SocketModeCall extends RecordedCall {
  /** The bearer token the call carried: the app token for apps.connections.open, the bot token otherwise. */
  token?: string;
}

interface Connection {
  socket: Socket;
  open: boolean;
  send(message: unknown): void;
  /** Starts the close handshake from Slack's side. */
  close(code?: number): void;
}

/**
 * Slack on loopback for Socket Mode: the Web API (apps.connections.open hands out
 * ws://…/link, auth.test, chat.postMessage recorded), response_url endpoints, and
 * the WebSocket at /link that says hello, delivers envelopes and collects acks.
 */
export async function startFakeSocketMode() {
  const calls: SocketModeCall[] = [];
  const responses: { id: string; body: Record<string, unknown> }[] = [];
  const connections: Connection[] = [];
  const waitingAcks = new Map<string, (ack: EnvelopeAck) => void>();
  const unexpected: string[] = [];
  let pings = 0;
  let ts = 1000;

  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const path = req.url ?? '/';
    if (path.startsWith('/response/')) {
      responses.push({ id: path.slice('/response/'.length), body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    }
    const method = path.replace(/^\/api\//, '').split('?')[0]!;
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '') || (body.token as string | undefined);
    calls.push({ method, body, token });
    const answer =
      method === 'apps.connections.open' ? { ok: true, url: `ws://127.0.0.1:${port}/link` }
      : method === 'auth.test' ? { ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T0TEST0001' }
      : method === 'chat.postMessage' ? { ok: true, channel: body.channel, ts: `${++ts}.000100` }
      : { ok: false, error: 'unknown_method' };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const key = req.headers['sec-websocket-key'];
    if ((req.url ?? '').split('?')[0] !== '/link' || typeof key !== 'string' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`, '', ''].join('\r\n'));
    socket.setNoDelay(true);

    let closeSent = false;
    const connection: Connection = {
      socket,
      open: true,
      send(message) {
        if (connection.open) socket.write(frame(opcode.text, Buffer.from(JSON.stringify(message), 'utf8')));
      },
      close(code = 1000) {
        if (!connection.open || closeSent) return;
        closeSent = true;
        const payload = Buffer.alloc(2);
        payload.writeUInt16BE(code);
        socket.write(frame(opcode.close, payload));
      },
    };
    connections.push(connection);

    let pending: Buffer = Buffer.alloc(0);
    let fragments: Buffer[] = [];
    const onFrame = (op: number, fin: boolean, payload: Buffer) => {
      if (op === opcode.ping) {
        // The client pings every clientPingTimeout/3 and reconnects after 3 unanswered pings.
        pings += 1;
        socket.write(frame(opcode.pong, payload));
        return;
      }
      if (op === opcode.pong) return;
      if (op === opcode.close) {
        // Finish the close handshake, then drop the TCP connection (the server closes first).
        if (!closeSent) {
          closeSent = true;
          socket.write(frame(opcode.close, payload.subarray(0, 2)));
        }
        connection.open = false;
        socket.end();
        return;
      }
      fragments.push(payload);
      if (!fin) return;
      const text = Buffer.concat(fragments).toString('utf8');
      fragments = [];
      let message: EnvelopeAck;
      try {
        message = JSON.parse(text) as EnvelopeAck;
      } catch {
        unexpected.push(text);
        return;
      }
      const resolve = waitingAcks.get(message.envelope_id);
      if (resolve) {
        waitingAcks.delete(message.envelope_id);
        resolve(message);
      } else {
        unexpected.push(text);
      }
    };
    const onData = (chunk: Buffer) => {
      pending = readFrames(Buffer.concat([pending, chunk]), onFrame);
    };
    socket.on('data', onData);
    socket.on('error', () => {});
    socket.on('close', () => {
      connection.open = false;
    });
    if (head.length) onData(head);

    // Slack's first message on every connection; the client's start() resolves on it.
    connection.send({ type: 'hello', num_connections: 1, debug_info: { host: 'fake' }, connection_info: { app_id: 'A0CSPOPS01' } });
  });

  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;

  const current = () => [...connections].reverse().find((c) => c.open);

  return {
    apiUrl: `${base}/api/`,
    responseUrl: (id: string) => `${base}/response/${id}`,
    calls,
    responses,
    /** Every WebSocket connection made to /link, oldest first. */
    connections,
    /** Acks and other messages that matched no envelope sent (should stay empty). */
    unexpected,
    /** How many pings the client sent (each was answered with a pong). */
    pings: () => pings,
    posts: () => calls.filter((c) => c.method === 'chat.postMessage'),
    /**
     * Delivers an envelope over the newest open connection; resolves with the client's ack,
     * or rejects when none arrives in time.
     */
    sendEnvelope(type: EnvelopeType, payload: Record<string, unknown>, timeoutMs = 5000): Promise<EnvelopeAck> {
      const connection = current();
      if (!connection) return Promise.reject(new Error('no open Socket Mode connection'));
      const envelope_id = randomUUID();
      return new Promise<EnvelopeAck>((resolve, reject) => {
        const timer = setTimeout(() => {
          waitingAcks.delete(envelope_id);
          reject(new Error(`no ack for ${type} envelope ${envelope_id} within ${timeoutMs} ms`));
        }, timeoutMs);
        waitingAcks.set(envelope_id, (ack) => {
          clearTimeout(timer);
          resolve(ack);
        });
        connection.send({ envelope_id, type, payload, accepts_response_payload: true });
      });
    },
    /** Sends Slack's `disconnect` message (a refresh): the client closes this socket and reconnects. */
    refresh(reason = 'refresh_requested') {
      current()?.send({ type: 'disconnect', reason, debug_info: { host: 'fake' } });
    },
    /** Waits until `count` connections were made and the newest is open. */
    async waitForConnections(count: number, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(connections.length >= count && connections[connections.length - 1]!.open)) {
        if (Date.now() > deadline) throw new Error(`expected ${count} Socket Mode connections, saw ${connections.length}`);
        await sleep(20);
      }
    },
    /** Waits up to `timeoutMs` for the client to finish closing its sockets, then drops what is left. */
    async close(timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      while (connections.some((c) => !c.socket.destroyed) && Date.now() < deadline) await sleep(10);
      for (const c of connections) c.socket.destroy();
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
    },
  };
}

export type FakeSocketMode = Awaited<ReturnType<typeof startFakeSocketMode>>;
