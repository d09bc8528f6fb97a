// nftables mode's object names against upstream's: hashAndTruncate (base32 of sha256, first 8
// characters), the chain and set names of pkg/proxy/nftables/proxier.go, with the check values
// its proxier_test.go shows (ns1/svc1/tcp/p80 -> ULMVA6XW, ...).
import test from 'ava';
import { endpointNames, hashAndTruncate, isAffinitySetName, isServiceChainName, namesFromListing, portChainNames, servicePortChainNameBase, servicePortEndpointChainNameBase } from '../../src/proxy/nftables/index.js';

const svc1 = { namespace: 'ns1', name: 'svc1', portName: 'p80', protocol: 'TCP' as const };

test('hashAndTruncate: 8 base32 characters of sha256, a dash, the name', (t) => {
  t.is(hashAndTruncate('ns1/svc1/tcp/p80'), 'ULMVA6XW-ns1/svc1/tcp/p80');
  t.is(servicePortChainNameBase(svc1), 'ULMVA6XW-ns1/svc1/tcp/p80');
});

test("a Service port's chains: service-, local-, external-, firewall- with the same base", (t) => {
  t.deepEqual(portChainNames(svc1), {
    service: 'service-ULMVA6XW-ns1/svc1/tcp/p80',
    local: 'local-ULMVA6XW-ns1/svc1/tcp/p80',
    external: 'external-ULMVA6XW-ns1/svc1/tcp/p80',
    firewall: 'firewall-ULMVA6XW-ns1/svc1/tcp/p80',
  });
  // Upstream's TestOverallNFTablesRules: svc2..svc5.
  t.is(portChainNames({ ...svc1, namespace: 'ns2', name: 'svc2' }).service, 'service-42NFTM6N-ns2/svc2/tcp/p80');
  t.is(portChainNames({ ...svc1, namespace: 'ns3', name: 'svc3' }).external, 'external-4AT6LBPK-ns3/svc3/tcp/p80');
  t.is(portChainNames({ ...svc1, namespace: 'ns4', name: 'svc4' }).service, 'service-LAUZTJTB-ns4/svc4/tcp/p80');
  t.is(portChainNames({ ...svc1, namespace: 'ns5', name: 'svc5' }).service, 'service-HVFWP5L3-ns5/svc5/tcp/p80');
});

test("an endpoint's chain and affinity set: __ip/port after the port's name, hashed whole", (t) => {
  t.is(servicePortEndpointChainNameBase(svc1, '10.180.0.1', 80), '5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80');
  t.deepEqual(endpointNames({ ...svc1, namespace: 'ns5', name: 'svc5' }, '10.180.0.3', 80), {
    chain: 'endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80',
    affinitySet: 'affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80',
  });
  t.is(endpointNames({ ...svc1, namespace: 'ns4', name: 'svc4' }, '10.180.0.4', 80).chain, 'endpoint-UNZV3OEC-ns4/svc4/tcp/p80__10.180.0.4/80');
});

test('the protocol is lower case, and an unnamed port leaves an empty last part', (t) => {
  t.regex(servicePortChainNameBase({ namespace: 'kube-system', name: 'kube-dns', portName: 'dns', protocol: 'UDP' }), /^[A-Z2-7]{8}-kube-system\/kube-dns\/udp\/dns$/);
  t.regex(servicePortChainNameBase({ namespace: 'ns1', name: 'syslog', portName: '', protocol: 'UDP' }), /^[A-Z2-7]{8}-ns1\/syslog\/udp\/$/);
});

test("an IPv6 endpoint's colons become dots (upstream's example: fd00:10:180::1 -> ZVRFLKHO)", (t) => {
  t.is(servicePortEndpointChainNameBase(svc1, 'fd00:10:180::1', 80), 'ZVRFLKHO-ns1/svc1/tcp/p80__fd00.10.180..1/80');
  t.is(servicePortEndpointChainNameBase(svc1, 'fd00:10:180::2:1', 80), '2CRNCTTE-ns1/svc1/tcp/p80__fd00.10.180..2.1/80');
});

test('a name longer than 240 characters is cut to 237 and marked with ...', (t) => {
  const long = `${'n'.repeat(63)}/${'s'.repeat(63)}/tcp/${'p'.repeat(63)}__fd00:1111:2222:3333:4444:5555:6666:7777/65535`.replaceAll(':', '.');
  const name = hashAndTruncate(long);
  t.is(name.length, 240);
  t.true(name.endsWith('...'));
  t.is(name.slice(0, 9), hashAndTruncate(long).slice(0, 9), 'stable');
});

test('per-service chains are told from the fixed ones by their slash; affinity sets by prefix', (t) => {
  t.true(isServiceChainName('service-ULMVA6XW-ns1/svc1/tcp/p80'));
  t.false(isServiceChainName('services'));
  t.false(isServiceChainName('mark-for-masquerade'));
  t.true(isAffinitySetName('affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80'));
  t.false(isAffinitySetName('cluster-ips'));
});

test("names of kube-proxy's chains and sets are read from nft list output, other tables' are not", (t) => {
  const listing = [
    'table ip filter {',
    '\tchain INPUT {',
    '\t\ttype filter hook input priority filter; policy accept;',
    '\t}',
    '}',
    'table ip kube-proxy {',
    '\tset cluster-ips {',
    '\t\ttype ipv4_addr',
    '\t}',
    '\tmap service-ips {',
    '\t\ttype ipv4_addr . inet_proto . inet_service : verdict',
    '\t}',
    '\tchain services {',
    '\t}',
    '\tchain service-ULMVA6XW-ns1/svc1/tcp/p80 {',
    '\t}',
    '}',
  ].join('\n');
  t.deepEqual(namesFromListing(listing, 'chain'), ['services', 'service-ULMVA6XW-ns1/svc1/tcp/p80']);
  t.deepEqual(namesFromListing(listing, 'set'), ['cluster-ips', 'service-ips']);
});
