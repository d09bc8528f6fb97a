// How Kubernetes names what controllers create: a Deployment's pods are NAME-HASH-XXXXX, where
// HASH is the pod-template-hash of its ReplicaSet and XXXXX five random characters, both drawn
// from the apimachinery "safe" alphabet that avoids vowels (and so accidental words) and
// look-alike characters.
import { randomInt } from 'node:crypto';

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** k8s.io/apimachinery/pkg/util/rand.SafeEncodeString. */
export function safeEncode(text: string): string {
  return [...text].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

/** utilrand.String(n): the suffix a ReplicaSet gives each pod (via generateName). */
export function randomSuffix(n = 5): string {
  return Array.from({ length: n }, () => SAFE_ALPHABET[randomInt(SAFE_ALPHABET.length)]).join('');
}

/** FNV-1a, 32 bits: what controller.ComputeHash feeds the pod template through. */
function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The pod-template-hash label: a hash of the pod template, so that changing the template makes a
 * new ReplicaSet (and new pods) while re-applying the same template changes nothing. Upstream
 * hashes its Go object dump; we hash the template's JSON, so the values differ from a real
 * cluster's but behave the same.
 */
export function podTemplateHash(template: unknown): string {
  return safeEncode(String(fnv1a32(stableJson(template))));
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
