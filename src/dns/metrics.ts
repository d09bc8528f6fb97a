// The DNS pod's port 9153, as CoreDNS's `prometheus :9153` plugin exports it, so that students can
// `curl http://DNS-POD:9153/metrics` and read the same counters a k3s node shows. Only the request
// and response counters are kept (no histograms, no Go runtime metrics). Names, help texts and
// labels are CoreDNS's (plugin/metrics/vars); labels print sorted by name, as the Go client does.

/** Query types CoreDNS counts by name; every other type is counted as "other". */
const MONITORED_TYPES = new Set(['A', 'AAAA', 'MX', 'SOA', 'CNAME', 'PTR', 'TXT', 'NS', 'SRV', 'DS', 'DNSKEY', 'RRSIG', 'NSEC', 'NSEC3', 'HTTPS', 'IXFR', 'AXFR', 'ANY']);

export interface Observation {
  proto: 'udp' | 'tcp';
  family: 1 | 2; // 1 IPv4, 2 IPv6: the client's address family
  type: string; // the question's type
  rcode: string; // NOERROR, NXDOMAIN, REFUSED, SERVFAIL, ...
  plugin: string; // the plugin that wrote the reply ('' when the server did)
  do: boolean; // the query's EDNS0 DO bit
}

type Labels = Record<string, string>;

class Counter {
  private readonly series = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels): void {
    const key = Object.keys(labels)
      .sort()
      .map((k) => `${k}="${escape(labels[k] ?? '')}"`)
      .join(',');
    const entry = this.series.get(key) ?? { labels, value: 0 };
    entry.value += 1;
    this.series.set(key, entry);
  }

  /** The sum over the series whose labels include `labels`. */
  sum(labels: Labels = {}): number {
    let total = 0;
    for (const { labels: have, value } of this.series.values()) {
      if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += value;
    }
    return total;
  }

  render(): string {
    if (this.series.size === 0) return '';
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const key of [...this.series.keys()].sort()) lines.push(`${this.name}{${key}} ${this.series.get(key)?.value ?? 0}`);
    return `${lines.join('\n')}\n`;
  }
}

const escape = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class DnsMetrics {
  readonly requests = new Counter('coredns_dns_requests_total', 'Counter of DNS requests made per zone, protocol and family.');
  readonly doRequests = new Counter('coredns_dns_do_requests_total', 'Counter of DNS requests with DO bit set per zone.');
  readonly responses = new Counter('coredns_dns_responses_total', 'Counter of response status codes.');

  /**
   * `server` is the server block's address as CoreDNS names it, `zone` the server block's zone: k3s
   * has one block `.:53`, so every query counts under zone "." whatever its name.
   */
  constructor(
    private readonly server = 'dns://:53',
    private readonly zone = '.',
  ) {}

  observe(o: Observation): void {
    const common = { server: this.server, zone: this.zone, view: '' };
    const type = MONITORED_TYPES.has(o.type.toUpperCase()) ? o.type.toUpperCase() : 'other';
    this.requests.inc({ ...common, proto: o.proto, family: String(o.family), type });
    if (o.do) this.doRequests.inc(common);
    this.responses.inc({ ...common, rcode: o.rcode, plugin: o.plugin });
  }

  /** The Prometheus text exposition format, as served on /metrics. */
  render(): string {
    return [this.requests, this.doRequests, this.responses].map((c) => c.render()).join('');
  }
}
