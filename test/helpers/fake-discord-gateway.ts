/**
 * The fake Discord's Gateway (API v10, JSON encoding, no compression): HELLO → IDENTIFY → READY + GUILD_CREATE,
 * heartbeats acknowledged, then whatever dispatches the test injects (INTERACTION_CREATE).
 */
import type { WebSocket } from 'ws';

export interface GatewayConnection {
  query: URLSearchParams;
  identify?: any;
  heartbeats: number;
  /** When each heartbeat arrived (Date.now()), to check the client kept its rhythm. */
  heartbeatTimes: number[];
  acks: number;
  closed: boolean;
}

interface GatewayOptions {
  token: string;
  heartbeatIntervalMs: number;
  ready: () => Record<string, unknown>;
  guildCreate: () => Record<string, unknown>;
  onChange: () => void;
}

export class FakeGateway {
  url = '';
  readonly connections: GatewayConnection[] = [];
  private readonly sockets = new Map<WebSocket, { conn: GatewayConnection; seq: number }>();

  constructor(private readonly o: GatewayOptions) {}

  /** True once a client has identified and not disconnected. */
  get connected(): boolean {
    return [...this.sockets.values()].some((s) => s.conn.identify && !s.conn.closed);
  }

  accept(ws: WebSocket, rawUrl: string): void {
    const query = new URL(rawUrl, 'ws://127.0.0.1').searchParams;
    const conn: GatewayConnection = { query, heartbeats: 0, heartbeatTimes: [], acks: 0, closed: false };
    this.connections.push(conn);
    const state = { conn, seq: 0 };
    this.sockets.set(ws, state);
    ws.on('close', () => {
      conn.closed = true;
      this.sockets.delete(ws);
      this.o.onChange();
    });
    if (query.get('v') !== '10' || query.get('encoding') !== 'json' || query.has('compress')) {
      ws.close(4012, `fake gateway speaks v=10 encoding=json without compress, got ${query.toString()}`);
      return;
    }
    ws.on('message', (raw, isBinary) => {
      if (isBinary) return void ws.close(4002, 'fake gateway expects text frames');
      this.onPayload(ws, state, JSON.parse(raw.toString()));
    });
    this.send(ws, { op: 10, d: { heartbeat_interval: this.o.heartbeatIntervalMs }, s: null, t: null });
  }

  /** Send a dispatch (op 0) to every identified client. */
  dispatch(t: string, d: unknown): void {
    for (const [ws, state] of this.sockets) {
      if (!state.conn.identify) continue;
      state.seq += 1;
      this.send(ws, { op: 0, t, s: state.seq, d });
    }
  }

  closeAll(): void {
    for (const ws of this.sockets.keys()) ws.terminate();
  }

  private onPayload(ws: WebSocket, state: { conn: GatewayConnection; seq: number }, p: { op: number; d: any }): void {
    switch (p.op) {
      case 1: // heartbeat
        state.conn.heartbeats += 1;
        state.conn.heartbeatTimes.push(Date.now());
        state.conn.acks += 1;
        this.send(ws, { op: 11, d: null, s: null, t: null });
        break;
      case 2: // identify
        if (p.d?.token !== this.o.token) return void ws.close(4004, 'Authentication failed.');
        if (state.conn.identify) return void ws.close(4005, 'Already authenticated.');
        state.conn.identify = p.d;
        state.seq += 1;
        this.send(ws, { op: 0, t: 'READY', s: state.seq, d: this.o.ready() });
        state.seq += 1;
        this.send(ws, { op: 0, t: 'GUILD_CREATE', s: state.seq, d: this.o.guildCreate() });
        break;
      case 6: // resume: sessions are not kept, make the client identify again
        this.send(ws, { op: 9, d: false, s: null, t: null });
        break;
      default: // presence updates and the like: ignored
        break;
    }
    this.o.onChange();
  }

  private send(ws: WebSocket, payload: unknown): void {
    ws.send(JSON.stringify(payload));
  }
}
