// The syntax rules Kubernetes applies to names, label keys and values and port names
// (k8s.io/apimachinery/pkg/util/validation), so the lab rejects exactly what a real apiserver
// rejects. Each check returns the first problem with a suggested replacement, or undefined.

export interface NameProblem {
  message: string;
  fix: string;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

const EMPTY: NameProblem = { message: 'must not be empty', fix: 'give it a lowercase name, e.g. "web"' };
const LABEL_CHARS = "lowercase letters, digits and '-', starting and ending with a letter or digit";

/** A DNS-1123 label: namespace names, container names, Service port names. */
export function checkDNS1123Label(value: string): NameProblem | undefined {
  if (value === '') return EMPTY;
  if (value.length > 63) return tooLong(value, 63);
  if (!DNS1123_LABEL.test(value)) {
    return { message: `${quote(value)} is not a valid DNS-1123 label: use at most 63 ${LABEL_CHARS}`, fix: suggestion(toLabel(value)) };
  }
  return undefined;
}

/** A DNS-1035 label: Service names, which become DNS names and so may not start with a digit. */
export function checkDNS1035Label(value: string): NameProblem | undefined {
  if (value === '') return EMPTY;
  if (value.length > 63) return tooLong(value, 63);
  if (!DNS1035_LABEL.test(value)) {
    const suggested = toLabel(value).replace(/^[^a-z]+/, '');
    return { message: `${quote(value)} is not a valid DNS-1035 label: use at most 63 lowercase letters, digits and '-', starting with a letter and ending with a letter or digit`, fix: suggestion(suggested) };
  }
  return undefined;
}

/** A DNS-1123 subdomain: pod and node names (dot-separated labels, at most 253 characters). */
export function checkDNS1123Subdomain(value: string): NameProblem | undefined {
  if (value === '') return EMPTY;
  if (value.length > 253) return tooLong(value, 253);
  if (!DNS1123_SUBDOMAIN.test(value)) {
    const suggested = value.split('.').map(toLabel).filter(Boolean).join('.');
    return {
      message: `${quote(value)} is not a valid DNS-1123 subdomain: use ${LABEL_CHARS}, optionally in '.'-separated parts`,
      fix: suggestion(suggested),
    };
  }
  return undefined;
}

/** A label or annotation key: `[prefix/]name`, the prefix a DNS subdomain such as `app.kubernetes.io`. */
export function checkQualifiedName(key: string): NameProblem | undefined {
  const parts = key.split('/');
  const name = parts.length === 2 ? parts[1]! : parts[0]!;
  const prefix = parts.length === 2 ? parts[0]! : undefined;
  const what = `${quote(key)} is not a valid key`;
  if (key === '') return { message: 'a key must not be empty', fix: 'give it a name, e.g. "app"' };
  if (parts.length > 2) return { message: `${what}: it may contain at most one '/'`, fix: 'write it as prefix/name, e.g. "app.kubernetes.io/name"' };
  if (prefix !== undefined && (prefix === '' || prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix))) {
    return { message: `${what}: the prefix before '/' must be a lowercase DNS subdomain`, fix: 'use a prefix such as "example.com", or drop the prefix' };
  }
  if (name === '') return { message: `${what}: the name after the prefix is empty`, fix: 'write it as prefix/name, e.g. "example.com/role"' };
  if (name.length > 63) return { message: `${what}: the part after the prefix is ${name.length} characters long; the limit is 63`, fix: 'shorten it' };
  if (!QUALIFIED_NAME.test(name)) {
    return { message: `${what}: use letters, digits, '-', '_' and '.', starting and ending with a letter or digit`, fix: suggestion(toQualifiedPart(name)) };
  }
  return undefined;
}

/** A label value: empty, or at most 63 characters like a qualified name. */
export function checkLabelValue(value: string): NameProblem | undefined {
  if (value === '') return undefined;
  if (value.length > 63) return tooLong(value, 63);
  if (!QUALIFIED_NAME.test(value)) {
    return {
      message: `${quote(value)} is not a valid label value: use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit`,
      fix: suggestion(toQualifiedPart(value)),
    };
  }
  return undefined;
}

/** A port name (IANA_SVC_NAME): what Services refer to in `targetPort: http`. */
export function checkPortName(value: string): NameProblem | undefined {
  const rule = "at most 15 lowercase letters, digits and '-', with at least one letter, no '-' at either end and no \"--\"";
  const valid = value.length <= 15 && IANA_SVC_NAME.test(value) && /[a-z]/.test(value) && !value.includes('--');
  if (valid) return undefined;
  const suggested = toLabel(value).replace(/-{2,}/g, '-').slice(0, 15).replace(/-+$/, '');
  return { message: `${quote(value)} is not a valid port name: use ${rule}`, fix: /[a-z]/.test(suggested) ? suggestion(suggested) : 'use a name such as "http" or "dns-udp"' };
}

function tooLong(value: string, limit: number): NameProblem {
  return { message: `${quote(value.slice(0, 20) + '...')} is ${value.length} characters long; the limit is ${limit}`, fix: 'shorten it' };
}

function quote(value: string): string {
  return JSON.stringify(value);
}

function suggestion(suggested: string): string {
  return suggested ? `rename it, e.g. ${quote(suggested)}` : 'choose a name made of lowercase letters and digits, e.g. "web"';
}

function toLabel(value: string): string {
  return value.toLowerCase().replace(/[^a-z0-9-]+/g, '-').slice(0, 63).replace(/^-+|-+$/g, '');
}

function toQualifiedPart(value: string): string {
  return value.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}
