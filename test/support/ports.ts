/**
 * TCP ports for test servers (kube-apiserver, etcd, controller-manager, Kafka listeners).
 *
 * Why not "bind port 0, read the port, release it": the kernel picks port-0 ports from
 * its ephemeral range, the same range it uses for the local end of every outbound
 * connection. Between the release and the moment a JVM (seconds later) binds the port,
 * any client socket of this or another process may take it, and Kafka then fails with
 * "Address already in use". So ports come from BELOW the ephemeral range, where the
 * kernel never picks on its own:
 *
 * - the range is 20000..(ephemeral low - 1), read from /proc/sys/net/ipv4/ip_local_port_range;
 * - a port is never handed out twice by one process (one allocator per process);
 * - each process starts at a random offset, so concurrent test processes rarely meet;
 * - each port is checked with a bind before it is handed out (another program may use it).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Lowest port handed out: above the usual fixed service ports. */
export const PORT_RANGE_FLOOR = 20_000;
/** A range smaller than this is not worth using (the fallback is the range above the ephemeral one). */
const MIN_RANGE_SIZE = 1_000;

export interface PortRange {
  readonly low: number;
  readonly high: number;
}

/** The kernel's ephemeral port range (Linux), or the IANA default 49152..65535 elsewhere. */
export function ephemeralPortRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): PortRange {
  try {
    const [low, high] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low! <= high!) return { low: low!, high: high! };
  } catch {
    // not Linux: fall through
  }
  return { low: 49_152, high: 65_535 };
}

/**
 * Where test ports come from: below the ephemeral range when there is room (the normal
 * case: 20000..32767 with Linux' default 32768..60999), else above it.
 */
export function testPortRange(ephemeral = ephemeralPortRange()): PortRange {
  if (ephemeral.low - PORT_RANGE_FLOOR >= MIN_RANGE_SIZE) return { low: PORT_RANGE_FLOOR, high: ephemeral.low - 1 };
  if (65_535 - ephemeral.high >= MIN_RANGE_SIZE) return { low: ephemeral.high + 1, high: 65_535 };
  throw new Error(`no room for test ports outside the ephemeral range ${ephemeral.low}..${ephemeral.high}`);
}

/** True when host:port can be bound right now (nothing listens on it). */
export async function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return await new Promise((res) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => res(false));
    srv.listen({ port, host }, () => srv.close(() => res(true)));
  });
}

export interface PortAllocatorOptions {
  readonly range?: PortRange;
  /** First port tried (default: a random port of the range). */
  readonly start?: number;
  /** Address the bind check uses (default 127.0.0.1, where every test server listens). */
  readonly host?: string;
}

/** Hands out distinct, currently bindable ports of a range, round robin from a start port. */
export class PortAllocator {
  readonly range: PortRange;
  private readonly host: string;
  private next: number;
  private readonly given = new Set<number>();
  /** Serializes allocate() calls, so concurrent callers never get the same port. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(opts: PortAllocatorOptions = {}) {
    this.range = opts.range ?? testPortRange();
    this.host = opts.host ?? '127.0.0.1';
    const size = this.range.high - this.range.low + 1;
    this.next = opts.start ?? this.range.low + Math.floor(Math.random() * size);
    if (this.next < this.range.low || this.next > this.range.high) throw new Error(`start port ${this.next} is outside ${this.range.low}..${this.range.high}`);
  }

  /** `count` distinct ports, each free when checked and never handed out before by this allocator. */
  allocate(count: number): Promise<number[]> {
    const result = this.queue.then(() => this.take(count));
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async take(count: number): Promise<number[]> {
    const size = this.range.high - this.range.low + 1;
    const out: number[] = [];
    for (let tried = 0; out.length < count; tried++) {
      if (tried >= size) throw new Error(`no free port left in ${this.range.low}..${this.range.high} (${this.given.size} handed out)`);
      const port = this.next;
      this.next = port === this.range.high ? this.range.low : port + 1;
      if (this.given.has(port) || !(await canBind(port, this.host))) continue;
      this.given.add(port);
      out.push(port);
    }
    return out;
  }
}

let shared: PortAllocator | undefined;

/** `count` distinct free ports from this process' allocator (see the header). */
export async function allocatePorts(count: number): Promise<number[]> {
  shared ??= new PortAllocator();
  return await shared.allocate(count);
}

/** One free port from this process' allocator. */
export async function allocatePort(): Promise<number> {
  const [port] = await allocatePorts(1);
  return port!;
}
