// kube-proxy's chain names must be upstream's to the byte: students compare them with a real node.
// The check values come from upstream (pkg/proxy/iptables/proxier_test.go and any k3s node).
import test from 'ava';
import { endpointChainName, isServiceChainName, servicePortChainName, servicePortName } from '../../src/proxy/hash.js';

const cases: [string, string, string][] = [
  ['kube-system/kube-dns:dns', 'udp', 'KUBE-SVC-TCOU7JCQXEZGVUNU'],
  ['default/kubernetes:https', 'tcp', 'KUBE-SVC-NPX46M4PTMTKRN6Y'],
  ['kube-system/kube-dns:dns-tcp', 'tcp', 'KUBE-SVC-ERIFXISQEP7F7OF4'],
  ['kube-system/kube-dns:metrics', 'tcp', 'KUBE-SVC-JD5MR3NA4I4DYORP'],
  ['ns1/svc1:p80', 'tcp', 'KUBE-SVC-XPGD46QRK7WJZT7O'],
  ['ns2/svc2:p80', 'tcp', 'KUBE-SVC-GNZBNJ2PO5MGZ6GT'],
];

for (const [name, protocol, expected] of cases) {
  test(`service chain of ${name} ${protocol} is ${expected}`, (t) => {
    t.is(servicePortChainName('KUBE-SVC-', name, protocol), expected);
  });
}

test('the protocol is hashed in lower case, whatever case it is given in', (t) => {
  t.is(servicePortChainName('KUBE-SVC-', 'kube-system/kube-dns:dns', 'UDP'), 'KUBE-SVC-TCOU7JCQXEZGVUNU');
});

test('KUBE-EXT, KUBE-SVL and KUBE-FW chains share the KUBE-SVC hash', (t) => {
  t.is(servicePortChainName('KUBE-EXT-', 'ns2/svc2:p80', 'tcp'), 'KUBE-EXT-GNZBNJ2PO5MGZ6GT');
  t.is(servicePortChainName('KUBE-SVL-', 'ns2/svc2:p80', 'tcp'), 'KUBE-SVL-GNZBNJ2PO5MGZ6GT');
  t.is(servicePortChainName('KUBE-FW-', 'ns5/svc5:p80', 'tcp'), 'KUBE-FW-NUKIZ6OKUXPJNT4C');
});

test('endpoint chains hash the service port name, protocol and ip:port', (t) => {
  t.is(endpointChainName('ns1/svc1:p80', 'tcp', '10.180.0.1:80'), 'KUBE-SEP-SXIVWICOYRO3J4NJ');
  t.is(endpointChainName('ns4/svc4:p80', 'tcp', '10.180.0.4:80'), 'KUBE-SEP-UKSFD7AGPMPPLUHC');
  t.is(endpointChainName('ns5/svc5:p80', 'tcp', '10.180.0.3:80'), 'KUBE-SEP-I77PXRDZVX7PMWMN');
});

test('servicePortName drops ":portName" for an unnamed port', (t) => {
  t.is(servicePortName({ namespace: 'kube-system', name: 'kube-dns', portName: 'dns' }), 'kube-system/kube-dns:dns');
  t.is(servicePortName({ namespace: 'ns1', name: 'syslog', portName: '' }), 'ns1/syslog');
});

test('chain names fit in iptables 28 characters', (t) => {
  t.true(servicePortChainName('KUBE-SVC-', 'a-very-long-namespace-name/and-a-very-long-service-name:with-a-port', 'tcp').length <= 28);
  t.true(endpointChainName('x/y', 'udp', '10.0.0.1:53').length <= 28);
});

test('isServiceChainName knows the per-service prefixes only', (t) => {
  for (const chain of ['KUBE-SVC-X', 'KUBE-SVL-X', 'KUBE-EXT-X', 'KUBE-FW-X', 'KUBE-SEP-X']) t.true(isServiceChainName(chain), chain);
  for (const chain of ['KUBE-SERVICES', 'KUBE-MARK-MASQ', 'KUBE-FIREWALL', 'KUBE-PROXY-CANARY', 'DOCKER']) t.false(isServiceChainName(chain), chain);
});
