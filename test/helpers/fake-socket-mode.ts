import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { startFakeSlack } from './fake-slack.js';
import { waitFor } from './wait.js';

export type EnvelopeType = 'slash_commands' | 'interactive';

/** What the Socket Mode client sends back for an envelope: `ack(body)` becomes `{ envelope_id, payload: body }`. */
export interface EnvelopeAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

interface Connection {
  socket: WebSocket;
  readonly open: boolean;
}

/**
 * Slack on loopback for Socket Mode: the fake Web API of fake-slack.ts, whose
 * apps.connections.open hands out ws://…/link, plus the WebSocket at /link that
 * says hello, delivers envelopes and collects acks (ws answers the client's pings).
 */
export async function startFakeSocketMode() {
  const slack = await startFakeSlack({
    answers: { 'apps.connections.open': () => ({ ok: true, url: `ws://127.0.0.1:${(slack.server.address() as AddressInfo).port}/link` }) },
  });
  const wss = new WebSocketServer({ noServer: true });
  const connections: Connection[] = [];
  const waitingAcks = new Map<string, (ack: EnvelopeAck) => void>();
  const unexpected: string[] = [];
  let pings = 0;

  slack.server.on('upgrade', (req, socket, head) => {
    if ((req.url ?? '').split('?')[0] !== '/link') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  wss.on('connection', (ws: WebSocket) => {
    connections.push({ socket: ws, get open() { return ws.readyState === WebSocket.OPEN; } });
    // The client pings every clientPingTimeout/3 and reconnects after 3 unanswered pings; ws sends the pongs.
    ws.on('ping', () => { pings += 1; });
    ws.on('error', () => {});
    ws.on('message', (data) => {
      const text = data.toString();
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
    });
    // Slack's first message on every connection; the client's start() resolves on it.
    ws.send(JSON.stringify({ type: 'hello', num_connections: 1, debug_info: { host: 'fake' }, connection_info: { app_id: 'A0CSPOPS01' } }));
  });

  const current = () => [...connections].reverse().find((c) => c.open);

  return {
    apiUrl: slack.apiUrl,
    responseUrl: slack.responseUrl,
    calls: slack.calls,
    responses: slack.responses,
    posts: slack.posts,
    /** Every WebSocket connection made to /link, oldest first. */
    connections,
    /** Acks and other messages that matched no envelope sent (should stay empty). */
    unexpected,
    /** How many pings the client sent (ws answered each with a pong). */
    pings: () => pings,
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
        connection.socket.send(JSON.stringify({ envelope_id, type, payload, accepts_response_payload: true }));
      });
    },
    /** Sends Slack's `disconnect` message (a refresh): the client closes this socket and reconnects. */
    refresh(reason = 'refresh_requested') {
      current()?.socket.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'fake' } }));
    },
    /** Waits until `count` connections were made and the newest is open. */
    async waitForConnections(count: number, timeoutMs = 15_000) {
      await waitFor(`${count} Socket Mode connections`, () => connections.length >= count && connections[connections.length - 1]!.open, timeoutMs);
    },
    /** Drops any client still connected, then stops the WebSocket and HTTP servers. */
    async close() {
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((done) => wss.close(() => done()));
      await slack.close();
    },
  };
}

export type FakeSocketMode = Awaited<ReturnType<typeof startFakeSocketMode>>;
