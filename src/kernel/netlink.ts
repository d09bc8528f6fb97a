// rtnetlink, the kernel interface that `ip` itself speaks, used by the agent to set up the pod's
// side of its network (lo up, the address on eth0, eth0 up, the default route): four requests on
// a netlink socket made inside the pod's namespace, instead of one `ip -n POD -batch` process
// per pod. A process costs ~5 ms of CPU (iproute2 enters the namespace and remounts /sys), the
// requests ~0.1 ms; at a thousand pods that is seconds of `up`. The same steps as ip commands
// are renderPodInside (src/dataplane/render.ts), which the tests compare with this.
//
// Requests are built per `man 7 rtnetlink`; each asks for an acknowledgement (NLM_F_ACK) and is
// read back before the next is sent, so the first failure names its step. The socket is blocking
// and the kernel answers at once: a pod costs well under a millisecond of the event loop.
import { closeSync, readSync, writeSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { KnetlabError } from '../errors.js';
import type { PodInside } from '../dataplane/render.js';
import { inNetns, loadSetnsAddon } from './netns.js';

const NLMSG_ERROR = 2;
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const AF_INET = 2;
const IFF_UP = 0x1;
const IFLA_IFNAME = 3;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3; // what `ip route add` sets
const RT_SCOPE_UNIVERSE = 0;
const RTN_UNICAST = 1;
const LOOPBACK_INDEX = 1; // lo is always the first link of a namespace

export function configurePodInside(pod: PodInside): void {
  const fd = inNetns(pod.netns, () => loadSetnsAddon().netlinkSocket());
  const socket = new RouteSocket(fd, pod.netns);
  try {
    socket.request('link set lo up', linkUp(LOOPBACK_INDEX));
    const index = socket.linkIndex(pod.ifname);
    socket.request(`addr add ${pod.address}/${pod.prefixLength} dev ${pod.ifname}`, addrAdd(index, pod.address, pod.prefixLength));
    socket.request(`link set ${pod.ifname} up`, linkUp(index));
    socket.request(`route add default via ${pod.gateway} dev ${pod.ifname}`, defaultRoute(index, pod.gateway));
  } finally {
    closeSync(fd);
  }
}

/** One netlink message: header, fixed part, attributes. Exported for the unit tests. */
export function message(type: number, flags: number, seq: number, fixed: Buffer, attributes: Buffer[] = []): Buffer {
  const body = Buffer.concat([fixed, ...attributes]);
  const header = Buffer.alloc(16);
  header.writeUInt32LE(16 + body.length, 0);
  header.writeUInt16LE(type, 4);
  header.writeUInt16LE(flags, 6);
  header.writeUInt32LE(seq, 8);
  header.writeUInt32LE(0, 12); // port id 0: the kernel fills in ours
  return Buffer.concat([header, body]);
}

function attribute(type: number, data: Buffer): Buffer {
  const padded = Buffer.alloc(align4(4 + data.length));
  padded.writeUInt16LE(4 + data.length, 0);
  padded.writeUInt16LE(type, 2);
  data.copy(padded, 4);
  return padded;
}

/** struct ifinfomsg: family, type, index, flags, change. */
function ifinfomsg(index: number, flags = 0, change = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}

export function linkUp(index: number): Omit<Request, 'seq'> {
  return { type: RTM_NEWLINK, flags: NLM_F_REQUEST | NLM_F_ACK, fixed: ifinfomsg(index, IFF_UP, IFF_UP), attributes: [] };
}

export function addrAdd(index: number, address: string, prefixLength: number): Omit<Request, 'seq'> {
  const fixed = Buffer.alloc(8); // struct ifaddrmsg: family, prefixlen, flags, scope, index
  fixed.writeUInt8(AF_INET, 0);
  fixed.writeUInt8(prefixLength, 1);
  fixed.writeUInt32LE(index, 4);
  const ip = ipv4(address);
  return { type: RTM_NEWADDR, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, fixed, attributes: [attribute(IFA_LOCAL, ip), attribute(IFA_ADDRESS, ip)] };
}

export function defaultRoute(index: number, gateway: string): Omit<Request, 'seq'> {
  const fixed = Buffer.from([AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, 0, 0, 0, 0]); // struct rtmsg
  const oif = Buffer.alloc(4);
  oif.writeUInt32LE(index, 0);
  return { type: RTM_NEWROUTE, flags: NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, fixed, attributes: [attribute(RTA_GATEWAY, ipv4(gateway)), attribute(RTA_OIF, oif)] };
}

interface Request {
  type: number;
  flags: number;
  seq: number;
  fixed: Buffer;
  attributes: Buffer[];
}

class RouteSocket {
  private seq = 0;
  private readonly reply = Buffer.alloc(16_384);

  constructor(
    private readonly fd: number,
    private readonly netns: string,
  ) {}

  /** Sends one request and waits for its acknowledgement; a negative errno becomes an error naming the step. */
  request(step: string, r: Omit<Request, 'seq'>): void {
    const seq = ++this.seq;
    writeSync(this.fd, message(r.type, r.flags, seq, r.fixed, r.attributes));
    const { type, payload } = this.read(seq);
    if (type === NLMSG_ERROR && payload.readInt32LE(0) !== 0) this.fail(step, -payload.readInt32LE(0));
  }

  /** RTM_GETLINK by name: the link's index in this namespace. */
  linkIndex(name: string): number {
    const seq = ++this.seq;
    writeSync(this.fd, message(RTM_GETLINK, NLM_F_REQUEST, seq, ifinfomsg(0), [attribute(IFLA_IFNAME, Buffer.from(`${name}\0`))]));
    const { type, payload } = this.read(seq);
    if (type === NLMSG_ERROR) this.fail(`link show ${name}`, -payload.readInt32LE(0));
    if (type !== RTM_NEWLINK) throw new KnetlabError(`netlink in ${this.netns}: unexpected answer ${type} to \`ip link show ${name}\``);
    return payload.readInt32LE(4);
  }

  private read(seq: number): { type: number; payload: Buffer } {
    for (;;) {
      const n = readSync(this.fd, this.reply, 0, this.reply.length, null);
      for (let at = 0; at + 16 <= n; ) {
        const length = this.reply.readUInt32LE(at);
        if (length < 16) break;
        if (this.reply.readUInt32LE(at + 8) === seq) return { type: this.reply.readUInt16LE(at + 4), payload: Buffer.from(this.reply.subarray(at + 16, at + length)) };
        at += align4(length);
      }
    }
  }

  private fail(step: string, errno: number): never {
    throw new KnetlabError(`\`ip ${step}\` in ${this.netns} failed: ${errnoName(errno)}`);
  }
}

function ipv4(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** EEXIST and the like, as `ip` users know them from strace and the man pages. */
function errnoName(errno: number): string {
  return getSystemErrorName(-errno);
}
