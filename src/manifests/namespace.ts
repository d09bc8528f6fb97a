// A v1 Namespace as the lab reads it: a name (a DNS-1123 label, because it becomes part of DNS
// names such as web.shop.svc.cluster.local), labels and annotations. Its spec and status belong
// to the apiserver and are not kept.
import * as z from 'zod';
import type { Namespace } from '../api/types.js';
import { decode, isMapping } from './decode.js';
import { checkMetadata, clusterMetadataSchema } from './metadata.js';
import { checkDNS1123Label } from './names.js';
import type { Reporter } from './report.js';
import { NAMESPACE_SPEC_FIELDS, checkFieldNames } from './vocabulary.js';

// apiVersion and kind were checked before the object came here.
const namespaceSchema = z.object({
  metadata: clusterMetadataSchema,
});

/** Returns the normalised Namespace, or undefined when the object has errors (all of them reported). */
export function validateNamespace(object: Record<string, unknown>, report: Reporter): Namespace | undefined {
  const errorsBefore = report.errorCount;
  checkMetadata(object.metadata, report, { checkName: checkDNS1123Label, namespaced: false });
  if (isMapping(object.spec)) checkFieldNames(object.spec, ['spec'], NAMESPACE_SPEC_FIELDS, 'a Namespace spec', report);
  const decoded = decode(namespaceSchema, object, [], report);
  return decoded && report.errorCount === errorsBefore ? { apiVersion: 'v1', kind: 'Namespace', ...decoded } : undefined;
}
