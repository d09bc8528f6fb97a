// One DNS message in, one out: the wire-level half of CoreDNS (its server, miekg/dns underneath,
// and the request.Scrub that fits replies to the client's buffer). Kept apart from the sockets in
// server.ts so that a fuzz test or a benchmark can drive it with plain Buffers. It never throws:
// whatever arrives, the answer is a reply or, where CoreDNS sends none, an empty Buffer.
import dnsPacket from 'dns-packet';
import type { Answer, OptAnswer, Packet, Question } from 'dns-packet';
import { isEncodableName } from './names.js';
import { type DnsView, resolveQuestion } from './records.js';

export type Transport = 'udp' | 'tcp';

const AA = 0x0400;
const TC = 0x0200;
const RD = 0x0100;
const CD = 0x0010;

const RCODES = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
type WireRcode = keyof typeof RCODES;

/** What metrics need to know about an answered query (absent for messages CoreDNS drops or rejects). */
export interface Observed {
  type: string;
  rcode: WireRcode;
  plugin: string; // the plugin that wrote the reply: 'kubernetes', or '' for the server itself
  do: boolean;
}

export interface Reply {
  response: Buffer;
  observed?: Observed;
}

const NO_REPLY: Reply = { response: Buffer.alloc(0) };

/** A reply of a header only, as miekg/dns sends for messages it rejects before any plugin sees them. */
function headerOnly(id: number, flags: number, rcode: WireRcode): Reply {
  const response = Buffer.alloc(12);
  response.writeUInt16BE(id, 0);
  // QR, the request's opcode, RD and CD echoed, and the rcode; no sections, no OPT.
  response.writeUInt16BE(0x8000 | (flags & (0x7800 | RD | CD)) | RCODES[rcode], 2);
  return { response };
}

/** dns-packet writes over-long labels without complaint, producing a corrupt message: check first. */
function encodable(rr: Answer): boolean {
  const data = (rr as { data?: unknown }).data;
  const target = rr.type === 'SRV' ? rr.data.target : rr.type === 'PTR' || rr.type === 'NS' || rr.type === 'CNAME' ? String(data) : '.';
  return isEncodableName(rr.name) && isEncodableName(target);
}

/** Length of one record on the wire (dns-packet does not compress names, so this is exact). */
const recordLength = (rr: Answer): number => dnsPacket.encodingLength({ answers: [rr] }) - 12;

/**
 * miekg/dns Msg.Truncate: if the reply is larger than `limit`, keep as many whole records as fit,
 * answers first, then authority, then additional, stopping at the first that does not; keep the
 * OPT record; set TC. (Unlike CoreDNS, names are not compressed, so fewer records fit.) Partial
 * answers are what CoreDNS sends: glibc retries over TCP on TC, and clients that cannot still get some.
 */
export function fit(packet: Packet, limit: number): Buffer {
  const full = dnsPacket.encode(packet);
  if (full.length <= limit) return full;
  const opt = (packet.additionals ?? []).filter((a) => a.type === 'OPT');
  const budget = limit - opt.reduce((n, rr) => n + recordLength(rr), 0);
  let used = dnsPacket.encodingLength({ questions: packet.questions ?? [] });
  let room = true;
  const keep = (section: Answer[] | undefined): Answer[] => {
    const kept: Answer[] = [];
    for (const rr of section ?? []) {
      if (rr.type === 'OPT') continue;
      const length = recordLength(rr);
      if (!room || used + length > budget) {
        room = false;
        break;
      }
      used += length;
      kept.push(rr);
    }
    return kept;
  };
  const answers = keep(packet.answers);
  const authorities = keep(packet.authorities);
  const additionals = [...keep(packet.additionals), ...opt];
  return dnsPacket.encode({ ...packet, flags: (packet.flags ?? 0) | TC, answers, authorities, additionals });
}

/** EDNS0 options CoreDNS passes back to the client as they came (edns.SupportedOption): NSID, EXPIRE, COOKIE, TCP-KEEPALIVE, PADDING. */
const ECHOED_OPTIONS = new Set([3, 9, 10, 11, 12]);

/**
 * The OPT record of a reply, after CoreDNS's SizeAndDo: the query's OPT reused, so the client's own
 * payload size is echoed (dig shows `udp: 1232`) and its cookie comes back "(echoed)"; version 0,
 * flags cleared but DO kept.
 */
function replyOpt(opt: OptAnswer, extendedRcode = 0): OptAnswer {
  const echoed = extendedRcode === 0 ? (opt.options ?? []).filter((o) => ECHOED_OPTIONS.has(Number(o.code))) : [];
  const options = echoed.map((o) => ({ code: o.code, data: o.data }));
  return { name: '.', type: 'OPT', udpPayloadSize: opt.udpPayloadSize, extendedRcode, ednsVersion: 0, flags: opt.flags & 0xff00, flag_do: opt.flag_do, options: options as OptAnswer['options'] };
}

/**
 * Answers one DNS message as CoreDNS would, reading the view only once the message is a query
 * it will answer. Messages shorter than a header, and responses, get no reply (a reply to junk can
 * be used for amplification); opcodes other than QUERY get NOTIMP; anything else malformed FORMERR.
 */
export function respond(view: () => DnsView, query: Buffer, transport: Transport): Reply {
  try {
    return respondUnsafe(view, query, transport);
  } catch {
    return NO_REPLY; // a bug must not take the DNS server down; the client retries
  }
}

function respondUnsafe(view: () => DnsView, query: Buffer, transport: Transport): Reply {
  if (query.length < 12) return NO_REPLY;
  const id = query.readUInt16BE(0);
  const flags = query.readUInt16BE(2);
  if (flags & 0x8000) return NO_REPLY;
  if ((flags >> 11) & 0xf) return headerOnly(id, flags, 'NOTIMP');
  // miekg/dns's default accept function: exactly one question, at most one answer and one authority
  // record (NOTIFY, IXFR) and two additional ones (OPT, TSIG).
  const [qd, an, ns, ar] = [4, 6, 8, 10].map((at) => query.readUInt16BE(at)) as [number, number, number, number];
  if (qd !== 1 || an > 1 || ns > 1 || ar > 2) return headerOnly(id, flags, 'FORMERR');
  let decoded: Packet;
  try {
    decoded = dnsPacket.decode(query);
  } catch {
    return headerOnly(id, flags, 'FORMERR');
  }
  const question = decoded.questions?.[0] as Question | undefined;
  if (!question || !isEncodableName(question.name)) return headerOnly(id, flags, 'FORMERR');
  const opts = (decoded.additionals ?? []).filter((a): a is OptAnswer => a.type === 'OPT');
  if (opts.length > 1) return headerOnly(id, flags, 'FORMERR'); // RFC 6891 6.1.1
  const opt = opts[0];
  const base = { id, type: 'response' as const, questions: [question] };
  const echoed = flags & (RD | CD);
  if (opt && opt.ednsVersion !== 0) {
    // EDNS version we do not speak: BADVERS (16) is extended rcode 1 in the OPT, 0 in the header.
    const response = dnsPacket.encode({ ...base, flags: echoed, additionals: [replyOpt(opt, 1)] });
    return { response };
  }
  const observedBase = { type: question.type, do: opt?.flag_do ?? false };
  // The client's buffer: 512 bytes over UDP unless its OPT record offers more (never less); 64 KiB over TCP.
  const limit = transport === 'tcp' ? 65535 : Math.max(512, opt?.udpPayloadSize ?? 512);
  try {
    const res = resolveQuestion(view(), question);
    // Authoritative when the kubernetes plugin answered; REFUSED comes from the server itself.
    const authoritative = res.rcode === 'NOERROR' || res.rcode === 'NXDOMAIN';
    if (![...res.answers, ...res.authorities, ...res.additionals].every(encodable)) throw new Error('a name longer than DNS allows');
    const additionals = [...res.additionals, ...(opt ? [replyOpt(opt)] : [])];
    const packet = { ...base, flags: echoed | (authoritative ? AA : 0) | RCODES[res.rcode], answers: res.answers, authorities: res.authorities, additionals };
    return { response: fit(packet, limit), observed: { ...observedBase, rcode: res.rcode, plugin: authoritative ? 'kubernetes' : '' } };
  } catch {
    // The view could not be read, or made a name too long for DNS (a 70-character hostname).
    const packet = { ...base, flags: echoed | RCODES.SERVFAIL, additionals: opt ? [replyOpt(opt)] : [] };
    return { response: fit(packet, limit), observed: { ...observedBase, rcode: 'SERVFAIL', plugin: '' } };
  }
}

/** The reply to one DNS message (see respond); an empty Buffer means no reply is sent. */
export function answer(view: DnsView, query: Buffer, transport: Transport): Buffer {
  return respond(() => view, query, transport).response;
}
