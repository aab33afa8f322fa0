// A simulated device's SSH side: ssh2's Server on its own port with its own ed25519 host key,
// password authentication, and NETCONF as the "netconf" subsystem (RFC 6242 §3). Every other
// channel request is refused.
import { createHash, timingSafeEqual } from 'node:crypto';
import ssh2, { type Connection } from 'ssh2';
import type { Framing } from '../drivers/netconf/framing.ts';
import type { Device } from './device.ts';
import { ServerSession } from './session.ts';

export interface DeviceListener {
  port: number;
  /** `SHA256:<base64>` of the host key, as `ssh-keygen -l` prints it. */
  hostKey: string;
  close(): Promise<void>;
}

export interface ListenOptions {
  host: string;
  username: string;
  password: string;
  protocols: Framing[];
}

// ssh2 is CommonJS and only its Client is visible as a named ESM export
const { Server, utils } = ssh2;

const digest = (s: string) => createHash('sha256').update(s).digest();

// ssh2's generateKeyPairSync strips every leading zero byte of the DER bit string holding an
// ed25519 public key, not just the unused-bits octet, so one key in 256 (its first byte 0) comes
// out 31 bytes long and neither half parses ("Malformed OpenSSH public key"). Such a key is simply
// drawn again; eight failures in a row (odds 2^-64) would mean something else is wrong.
export function ed25519HostKey(): { private: string; parsed: ssh2.ParsedKey } {
  let last: Error | undefined;
  for (let attempt = 0; attempt < 8; attempt++) {
    const key = utils.generateKeyPairSync('ed25519');
    const parsed = utils.parseKey(key.public);
    const priv = utils.parseKey(key.private);
    if (!(parsed instanceof Error) && !(priv instanceof Error)) return { private: key.private, parsed };
    last = parsed instanceof Error ? parsed : (priv as Error);
  }
  throw last!;
}

export async function listenDevice(device: Device, o: ListenOptions): Promise<DeviceListener> {
  const { private: hostPrivate, parsed } = ed25519HostKey();
  const hostKey = `SHA256:${createHash('sha256').update(parsed.getPublicSSH()).digest('base64').replace(/=+$/, '')}`;
  const want = { user: digest(o.username), pass: digest(o.password) };
  const conns = new Set<Connection>();
  const server = new Server({ hostKeys: [hostPrivate], ident: 'nvo-netsim' }, (conn) => {
    conns.add(conn);
    conn.on('close', () => conns.delete(conn));
    (conn as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true); // no Nagle: replies are small and back to back
    conn.on('error', () => undefined); // a client that vanishes mid-handshake is not our failure
    conn.on('authentication', (ctx) => {
      const ok = ctx.method === 'password' && timingSafeEqual(digest(ctx.username), want.user) && timingSafeEqual(digest(ctx.password), want.pass);
      if (ok) ctx.accept();
      else ctx.reject(['password']);
    });
    conn.on('ready', () => {
      conn.on('session', (accept) => {
        const session = accept();
        session.on('subsystem', (acceptSub, reject, info) => {
          if (info.name !== 'netconf') return reject();
          const channel = acceptSub();
          const s = new ServerSession(
            device,
            {
              write: (d) => channel.write(d),
              onData: (cb) => channel.on('data', cb),
              onClose: (cb) => {
                channel.on('close', cb);
                conn.on('close', cb);
              },
              end: () => {
                channel.end();
                conn.end();
              },
            },
            o.protocols,
            o.username,
          );
          s.start();
        });
        for (const other of ['pty', 'shell', 'exec', 'sftp'] as const) session.on(other, (_a: unknown, rej: (() => void) | undefined) => rej?.());
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(device.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: device.port,
    hostKey,
    close: () =>
      new Promise<void>((resolve) => {
        device.stop();
        server.close(() => resolve());
        for (const c of conns) c.end(); // connections that never opened a NETCONF session too
      }),
  };
}
