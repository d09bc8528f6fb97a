// The cluster DNS on real sockets (loopback only): UDP and TCP on one port number, as a pod's port
// 53 is, queried with dns-packet and with dig. Covers what the wire adds to the records: header
// flags, truncation of a 100-endpoint headless answer over UDP and the whole of it over TCP, EDNS0,
// FORMERR/NOTIMP/no reply for junk, a fuzz run, TCP pipelining and idle timeout, and the metrics.
import test, { type ExecutionContext } from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { promisify } from 'node:util';
import dnsPacket, { type DecodedPacket, type Packet } from 'dns-packet';
import type { Endpoints, Service } from '../../src/api/types.js';
import { answer, DnsMetrics, type DnsView, respond, serveDnsTcp, serveDnsUdp, type TcpOptions } from '../../src/dns/server.js';

const svc = (name: string, clusterIP: string): Service => ({
  apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { clusterIP, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
});
const many: Endpoints = {
  apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'many', namespace: 'default' },
  subsets: [{ addresses: Array.from({ length: 100 }, (_, i) => ({ ip: `10.42.${i >> 6}.${(i % 64) + 2}` })), ports: [{ name: 'http', port: 80 }] }],
};
const view: DnsView = { domain: 'cluster.local', services: [svc('web', '10.43.0.20'), svc('many', 'None')], endpoints: [many], pods: [] };
const WEB = 'web.default.svc.cluster.local';
const MANY = 'many.default.svc.cluster.local';

const query = (name: string, type = 'A', extra: Partial<Packet> = {}): Buffer =>
  dnsPacket.encode({ type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: type as 'A' }], ...extra });
const datas = (p: Packet | undefined): unknown[] | undefined => p?.answers?.map((a) => (a as { data: unknown }).data);
const withOpt = (udpPayloadSize: number, ednsVersion = 0): Partial<Packet> => ({
  additionals: [{ type: 'OPT', name: '.', udpPayloadSize, ednsVersion, extendedRcode: 0, flags: 0, flag_do: false, options: [] }],
});

/** UDP and TCP servers on the same loopback port (dig retries a truncated answer over TCP on that port). */
async function start(t: ExecutionContext, tcpOptions: TcpOptions = {}) {
  const metrics = new DnsMetrics();
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    serveDnsUdp(udp, () => view, metrics);
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const port = udp.address().port;
    const tcp = net.createServer();
    const open = new Set<net.Socket>();
    tcp.on('connection', (c) => open.add(c).size);
    serveDnsTcp(tcp, () => view, metrics, tcpOptions);
    const listening = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    const close = () => {
      udp.close();
      for (const c of open) c.destroy();
      tcp.close();
    };
    if (listening) {
      t.teardown(close);
      return { port, metrics };
    }
    close();
    if (attempt === 5) throw new Error('no port free for both UDP and TCP');
  }
}

/** Sends datagrams and resolves with the first reply, or undefined after `ms`. */
async function udpExchange(t: ExecutionContext, port: number, messages: Buffer[], ms = 1000): Promise<DecodedPacket | undefined> {
  const client = dgram.createSocket('udp4');
  t.teardown(() => client.close());
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    client.on('message', (m) => (clearTimeout(timer), resolve(dnsPacket.decode(m))));
    for (const m of messages) client.send(m, port, '127.0.0.1');
  });
}

/** Writes length-prefixed messages on one connection and collects `count` replies. */
async function tcpExchange(t: ExecutionContext, port: number, messages: Buffer[], count = messages.length): Promise<DecodedPacket[]> {
  const client = net.connect(port, '127.0.0.1');
  t.teardown(() => client.destroy());
  return new Promise((resolve, reject) => {
    let data = Buffer.alloc(0);
    const replies: DecodedPacket[] = [];
    client.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      while (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        replies.push(dnsPacket.decode(data.subarray(2, 2 + data.readUInt16BE(0))));
        data = data.subarray(2 + data.readUInt16BE(0));
      }
      if (replies.length >= count) resolve(replies);
    });
    client.on('error', reject);
    client.on('close', () => resolve(replies));
    client.write(Buffer.concat(messages.map((m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]))));
  });
}

test('UDP: an A query is answered with the id echoed and the flags CoreDNS sets (qr aa rd, no ra)', async (t) => {
  const { port } = await start(t);
  const reply = await udpExchange(t, port, [query(WEB)]);
  t.like(reply, { id: 4242, rcode: 'NOERROR', flag_qr: true, flag_aa: true, flag_rd: true, flag_ra: false, flag_tc: false });
  t.deepEqual(datas(reply), ['10.43.0.20']);
  t.deepEqual(reply?.questions, [{ name: WEB, type: 'A', class: 'IN' }]);
  t.like(await udpExchange(t, port, [query('example.com')]), { rcode: 'REFUSED', flag_aa: false });
});

test('UDP truncates a 100-endpoint headless answer to 512 bytes with TC; TCP carries all of it', async (t) => {
  const { port } = await start(t);
  const small = answer(view, query(MANY), 'udp');
  const udp = dnsPacket.decode(small);
  t.true(small.length <= 512);
  t.true(udp.flag_tc);
  t.true(udp.answers!.length > 0 && udp.answers!.length < 100, `${udp.answers!.length} answers kept`);
  const [tcp] = await tcpExchange(t, port, [query(MANY)]);
  t.false(tcp?.flag_tc);
  t.is(tcp?.answers?.length, 100);
  t.true((await udpExchange(t, port, [query(MANY)]))?.flag_tc);
});

test('EDNS0: the payload size offered is used (never below 512) and the reply carries an OPT record', (t) => {
  const big = answer(view, query(MANY, 'A', withOpt(1232)), 'udp');
  const decoded = dnsPacket.decode(big);
  t.true(big.length <= 1232 && big.length > 512);
  t.true(decoded.flag_tc);
  t.like(decoded.additionals?.find((a) => a.type === 'OPT'), { udpPayloadSize: 1232, ednsVersion: 0 });
  t.is(dnsPacket.decode(answer(view, query(MANY, 'A', withOpt(65000)), 'udp')).answers?.length, 100);
  t.true(answer(view, query(MANY, 'A', withOpt(100)), 'udp').length <= 512);
  t.is(dnsPacket.decode(answer(view, query(WEB), 'udp')).additionals?.length, 0); // no OPT asked, none given
  const badvers = dnsPacket.decode(answer(view, query(WEB, 'A', withOpt(1232, 1)), 'udp'));
  t.like(badvers.additionals?.[0], { type: 'OPT', extendedRcode: 1 }); // BADVERS = 16: high bits in the OPT
  t.is(badvers.answers?.length, 0);
});

test('junk: FORMERR when a header can be read, nothing when not; NOTIMP for other opcodes', async (t) => {
  const formerr = (m: Buffer) => dnsPacket.decode(answer(view, m, 'udp'));
  const garbage = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([0xc0, 0xff, 0xff])]);
  t.like(formerr(garbage), { id: 0x1234, rcode: 'FORMERR', flag_qr: true, flag_rd: true });
  t.like(formerr(query(WEB).subarray(0, 20)), { id: 4242, rcode: 'FORMERR' }); // cut in the middle of the name
  const twoQuestions = dnsPacket.encode({ type: 'query', id: 7, questions: [{ name: WEB, type: 'A' }, { name: WEB, type: 'AAAA' }] });
  t.like(formerr(twoQuestions), { id: 7, rcode: 'FORMERR' });
  const update = query(WEB);
  update.writeUInt16BE((5 << 11) | 0x0100, 2); // opcode UPDATE
  t.like(formerr(update), { id: 4242, rcode: 'NOTIMP', opcode: 'UPDATE' });
  t.is(answer(view, Buffer.from([1, 2, 3]), 'udp').length, 0);
  const response = query(WEB);
  response.writeUInt16BE(0x8000, 2); // a response sent to us gets no reply (no ping-pong between servers)
  t.is(answer(view, response, 'udp').length, 0);
  const { port } = await start(t);
  // Over UDP the short junk is dropped and the next query still answered.
  t.like(await udpExchange(t, port, [Buffer.from([9, 9]), query(WEB)]), { id: 4242, rcode: 'NOERROR' });
});

test('SERVFAIL when the view cannot be read or makes a name too long for DNS', (t) => {
  const failing = respond(() => { throw new Error('store not ready'); }, query(WEB), 'udp');
  t.like(dnsPacket.decode(failing.response), { id: 4242, rcode: 'SERVFAIL', flag_aa: false });
  t.like(failing.observed, { rcode: 'SERVFAIL', type: 'A' });
  const long = { ...many, subsets: [{ addresses: [{ ip: '10.42.0.2', hostname: 'h'.repeat(70) }], ports: [{ name: 'http', port: 80 }] }] };
  t.like(dnsPacket.decode(answer({ ...view, endpoints: [long] }, query(MANY, 'SRV'), 'udp')), { rcode: 'SERVFAIL' });
  t.like(dnsPacket.decode(answer({ ...view, endpoints: [long] }, query(MANY), 'udp')), { rcode: 'NOERROR' }); // A owners are the question
});

test('fuzz: 10,000 random and truncated messages never throw, and answers stay right', (t) => {
  let seed = 1;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const valid = [query(WEB), query(MANY, 'SRV', withOpt(4096)), query('_http._tcp.web.default.svc.cluster.local', 'SRV')];
  for (let i = 0; i < 10_000; i++) {
    const base = valid[i % valid.length]!;
    const message = i % 2 ? base.subarray(0, Math.floor(random() * base.length)) : Buffer.from(base.map((b) => (random() < 0.05 ? Math.floor(random() * 256) : b)));
    t.notThrows(() => answer(view, message, i % 3 ? 'udp' : 'tcp'));
  }
  t.deepEqual(datas(dnsPacket.decode(answer(view, query(WEB), 'udp'))), ['10.43.0.20']);
});

test('TCP: several queries on one connection are answered in order; idle connections are closed', async (t) => {
  const { port } = await start(t, { idleTimeoutMs: 300 });
  const second = dnsPacket.encode({ type: 'query', id: 2, questions: [{ name: 'nosuch.default.svc.cluster.local', type: 'A' }] });
  const replies = await tcpExchange(t, port, [query(WEB), second]);
  t.deepEqual(replies.map((r) => [r.id, (r as DecodedPacket & { rcode: string }).rcode]), [[4242, 'NOERROR'], [2, 'NXDOMAIN']]);
  const started = Date.now();
  const idle = net.connect(port, '127.0.0.1');
  t.teardown(() => idle.destroy());
  await new Promise((resolve) => idle.on('close', resolve));
  t.true(Date.now() - started < 2000, 'closed by the server after the idle timeout');
});

test('metrics count requests by type and responses by rcode, as CoreDNS names them', async (t) => {
  const { port, metrics } = await start(t);
  await udpExchange(t, port, [query(WEB)]);
  await udpExchange(t, port, [query('nosuch.default.svc.cluster.local')]);
  await tcpExchange(t, port, [query(WEB, 'SRV')]);
  const text = metrics.render();
  t.true(text.includes('coredns_dns_requests_total{family="1",proto="udp",server="dns://:53",type="A",view="",zone="."} 2'), text);
  t.true(text.includes('coredns_dns_requests_total{family="1",proto="tcp",server="dns://:53",type="SRV",view="",zone="."} 1'), text);
  t.true(text.includes('coredns_dns_responses_total{plugin="kubernetes",rcode="NXDOMAIN",server="dns://:53",view="",zone="."} 1'), text);
  t.true(text.includes('# TYPE coredns_dns_requests_total counter'));
  t.is(metrics.responses.sum({ rcode: 'NOERROR' }), 2);
});

const dig = promisify(execFile);
const hasDig = spawnSync('dig', ['-v']).status === 0;
const digTest = hasDig ? test : test.skip;

digTest('dig: +short A and SRV, +tcp, NXDOMAIN, PTR, and a truncated answer retried over TCP', async (t) => {
  const { port } = await start(t);
  const run = async (...args: string[]) => (await dig('dig', ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=2', ...args])).stdout;
  t.is(await run('+short', WEB), '10.43.0.20\n');
  t.is(await run('+short', '+tcp', WEB), '10.43.0.20\n');
  t.is(await run('+short', 'SRV', `_http._tcp.${WEB}`), `0 100 80 ${WEB}.\n`);
  t.is(await run('+short', '-x', '10.43.0.20'), `${WEB}.\n`);
  const nx = await run('nosuch.default.svc.cluster.local');
  t.regex(nx, /status: NXDOMAIN/);
  t.regex(nx, /flags: qr aa rd;/);
  t.regex(nx, /cluster\.local\.\s+5\s+IN\s+SOA\s+ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\./);
  const all = await run('+short', MANY); // dig sees TC over UDP and asks again over TCP
  t.is(all.trim().split('\n').length, 100);
  t.regex(await run('+ignore', '+noall', '+comments', MANY), /flags: qr aa tc rd;/);
});
