// What a memo of rendered Service ports compares and keeps: every input of a Service port and
// its endpoints, compared field by field and copied (the snapshot's objects may be reused by the
// caller). Shared by the iptables render cache (render-cache.ts) and the nftables one
// (nftables/memo.ts), so that neither can forget a field.
import type { EndpointInfo, ServicePortInfo } from './types.js';

// Every field a renderer may read, compared and copied by the functions below. A field
// added to the types but not listed here fails to compile (the two checks that follow): list it,
// and compare and copy it too, so that the cache cannot silently ignore a new input.
const SERVICE_FIELDS = ['namespace', 'name', 'portName', 'protocol', 'clusterIP', 'port', 'nodePort', 'sessionAffinity', 'affinityTimeoutSeconds', 'externalTrafficPolicy', 'internalTrafficPolicy'] as const;
const ENDPOINT_FIELDS = ['ip', 'port', 'ready', 'nodeName'] as const;
type Unlisted<T, Listed extends readonly PropertyKey[]> = Exclude<keyof T, Listed[number]>;
const serviceFieldsListed: [Unlisted<ServicePortInfo, typeof SERVICE_FIELDS>] extends [never] ? true : never = true;
const endpointFieldsListed: [Unlisted<EndpointInfo, typeof ENDPOINT_FIELDS>] extends [never] ? true : never = true;
void serviceFieldsListed;
void endpointFieldsListed;

// Written out rather than looped over the lists: this runs for every Service port of every sync,
// and V8 reads named properties several times faster than computed ones.
export function sameService(a: ServicePortInfo, b: ServicePortInfo): boolean {
  return (
    a.namespace === b.namespace &&
    a.name === b.name &&
    a.portName === b.portName &&
    a.protocol === b.protocol &&
    a.clusterIP === b.clusterIP &&
    a.port === b.port &&
    a.nodePort === b.nodePort &&
    a.sessionAffinity === b.sessionAffinity &&
    a.affinityTimeoutSeconds === b.affinityTimeoutSeconds &&
    a.externalTrafficPolicy === b.externalTrafficPolicy &&
    a.internalTrafficPolicy === b.internalTrafficPolicy
  );
}

export function sameEndpoints(a: readonly EndpointInfo[], b: readonly EndpointInfo[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.ip !== y.ip || x.port !== y.port || x.ready !== y.ready || x.nodeName !== y.nodeName) return false;
  }
  return true;
}

export function copyService(s: ServicePortInfo): ServicePortInfo {
  const { namespace, name, portName, protocol, clusterIP, port, nodePort, sessionAffinity, affinityTimeoutSeconds, externalTrafficPolicy, internalTrafficPolicy } = s;
  return { namespace, name, portName, protocol, clusterIP, port, nodePort, sessionAffinity, affinityTimeoutSeconds, externalTrafficPolicy, internalTrafficPolicy };
}

export function copyEndpoint({ ip, port, ready, nodeName }: EndpointInfo): EndpointInfo {
  return { ip, port, ready, nodeName };
}
