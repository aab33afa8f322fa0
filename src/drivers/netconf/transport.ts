// Bytes to and from a NETCONF server over SSH (RFC 6242 §2: the "netconf" subsystem). Knows nothing
// about framing or RPCs. Host keys are checked against a pinned SHA256 fingerprint or a
// known_hosts file; trusting any key needs an explicit `off`.
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { Client, type ClientChannel } from 'ssh2';
import { NetconfError } from './netconf-error.ts';

export type HostKeyCheck = 'pinned' | 'known-hosts' | 'off';

export interface TransportOptions {
  host: string;
  port: number;
  username: string;
  password?: string;
  privateKey?: string | Buffer;
  privateKeyFile?: string;
  passphrase?: string;
  hostKeyCheck: HostKeyCheck;
  /** `SHA256:<base64>` as `ssh-keygen -l` prints it. */
  hostKey?: string;
  knownHostsFile?: string;
  connectTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
}

export interface Transport {
  write(data: Buffer): void;
  onData(cb: (data: Buffer) => void): void;
  /** Called once, when the channel or the connection ends for any reason. */
  onClose(cb: (err?: Error) => void): void;
  close(): void;
}

export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export function openTransport(opts: TransportOptions): Promise<Transport> {
  const where = `${opts.host}:${opts.port}`;
  const timeout = opts.connectTimeoutMs ?? 10_000;
  const verify = hostVerifier(opts);
  let seenKey = '';
  return new Promise((resolve, reject) => {
    const sock: Socket = connect({ host: opts.host, port: opts.port });
    const client = new Client();
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      sock.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new NetconfError('unreachable', `SSH to ${where}: no session within ${timeout} ms`, { host: opts.host, port: opts.port })), timeout);
    sock.once('error', (err) => fail(new NetconfError('unreachable', `SSH to ${where}: ${err.message}`, { host: opts.host, port: opts.port })));
    sock.once('connect', () => {
      // ssh2 leaves Nagle on: each handshake step and back-to-back small write would wait ~40 ms.
      sock.setNoDelay(true);
      client.connect({
        sock,
        username: opts.username,
        password: opts.password,
        privateKey: opts.privateKey ?? (opts.privateKeyFile ? readFileSync(opts.privateKeyFile) : undefined),
        passphrase: opts.passphrase,
        readyTimeout: timeout,
        keepaliveInterval: opts.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: opts.keepaliveCountMax ?? 3,
        hostVerifier: (key: Buffer) => {
          seenKey = fingerprint(key);
          return verify(key);
        },
      });
    });
    client.once('error', (err: Error & { level?: string }) => {
      if (err.level === 'client-authentication') fail(new NetconfError('auth-failed', `SSH to ${where}: authentication as ${opts.username} failed`, { host: opts.host, port: opts.port }));
      else if (/host key|verification/i.test(err.message)) fail(new NetconfError('host-key-mismatch', `SSH to ${where}: host key ${seenKey} is not the expected one (${opts.hostKeyCheck === 'pinned' ? opts.hostKey : opts.knownHostsFile})`, { host: opts.host, port: opts.port, hostKey: seenKey }));
      else fail(new NetconfError('unreachable', `SSH to ${where}: ${err.message}`, { host: opts.host, port: opts.port }));
    });
    client.once('ready', () => {
      client.subsys('netconf', (err, channel) => {
        if (err) return fail(new NetconfError('unreachable', `SSH to ${where}: netconf subsystem refused: ${err.message}`));
        settled = true;
        clearTimeout(timer);
        resolve(wrap(client, channel));
      });
    });
  });
}

function wrap(client: Client, channel: ClientChannel): Transport {
  const closers: ((err?: Error) => void)[] = [];
  let closed = false;
  let lastError: Error | undefined;
  const done = () => {
    if (closed) return;
    closed = true;
    for (const cb of closers) cb(lastError);
    client.end();
  };
  channel.on('close', done);
  channel.on('error', (err: Error) => (lastError = err));
  client.on('error', (err: Error) => {
    lastError = err;
    done();
  });
  client.on('close', done);
  return {
    write: (data) => {
      if (!closed) channel.write(data);
    },
    onData: (cb) => channel.on('data', cb),
    onClose: (cb) => closers.push(cb),
    close: () => {
      channel.end();
      client.end();
    },
  };
}

function hostVerifier(opts: TransportOptions): (key: Buffer) => boolean {
  if (opts.hostKeyCheck === 'off') return () => true;
  if (opts.hostKeyCheck === 'pinned') {
    if (!opts.hostKey) throw new NetconfError('host-key-mismatch', 'hostKeyCheck pinned needs hostKey (SHA256:...)');
    const want = opts.hostKey.replace(/=+$/, '');
    return (key) => fingerprint(key) === want;
  }
  if (!opts.knownHostsFile) throw new NetconfError('host-key-mismatch', 'hostKeyCheck known-hosts needs knownHostsFile');
  const known = knownKeys(readFileSync(opts.knownHostsFile, 'utf8'), opts.host, opts.port);
  return (key) => known.has(key.toString('base64'));
}

// OpenSSH known_hosts: "host[,host] type base64", hosts as "[host]:port" off port 22, plain or
// hashed "|1|salt|hmac-sha1". Returns the key blobs (base64) listed for this host.
export function knownKeys(text: string, host: string, port: number): Set<string> {
  const name = port === 22 ? host : `[${host}]:${port}`;
  const out = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@revoked')) continue;
    const [hosts, , blob] = line.replace(/^@cert-authority\s+/, '').split(/\s+/);
    if (!hosts || !blob) continue;
    const match = hosts.split(',').some((h) => {
      if (h.startsWith('|1|')) {
        const [, , salt, hash] = h.split('|');
        return createHmac('sha1', Buffer.from(salt ?? '', 'base64')).update(name).digest('base64') === hash;
      }
      return h === name;
    });
    if (match) out.add(blob);
  }
  return out;
}
