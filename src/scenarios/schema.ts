// The shape of scenarios/ID/scenario.yaml, as zod schemas: the one source for validating a
// scenario, for its TypeScript types and for scenarios/scenario.schema.json (editors validate
// with it; a unit test fails when the committed file is stale, and `UPDATE_GOLDEN=1 npx ava
// test/unit/scenarios.test.ts` rewrites it). Steps and checks are written with one key naming
// what they are, as GitHub Actions steps are (`- exec: {...}`, `- delete: pod/web-x`), so a file
// reads as a list of actions. Predicates are the checks that need no memory; `wait` reuses them.
import { z } from 'zod';

const described = <T extends z.ZodType>(schema: T, description: string, id?: string): T => schema.meta(id ? { id, description } : { description }) as T;

/** A union of objects, one per entry of `specs`, each holding that entry's key plus the `shared` keys. */
function oneKeyUnion<M extends Record<string, z.ZodType>, S extends z.ZodRawShape>(specs: M, shared: S) {
  type Branch = { [K in keyof M & string]: z.ZodObject<S & { [P in K]: M[K] }, z.core.$strict> }[keyof M & string];
  return z.union(Object.entries(specs).map(([kind, spec]) => z.strictObject({ ...shared, [kind]: spec })) as unknown as Branch[]);
}

export const textSchema = described(z.strictObject({ en: z.string().min(1), zh: z.string().min(1) }), 'the same text in English and in Chinese', 'text');
const name = z.string().regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, 'must be lower-case letters, digits and "-"');
const scenarioId = described(name.max(32), 'the folder name; also the lab name `scenario start` uses (at most 32 characters)');
const namespace = described(z.string().min(1), 'the Kubernetes namespace [default: default]').optional();
const target = described(
  z.string().regex(/^(lan|node\/[a-z0-9-]+|pod\/[^\s/]+)$/, 'must be lan, node/NAME, pod/NAME or pod/LABEL=VALUE[,...][@NODE]'),
  'where to run: lan, node/NAME, pod/NAME, or pod/LABEL=VALUE[,LABEL=VALUE][@NODE] (the first pod, by name, with these labels, on NODE if given)',
  'target',
);
const selector = described(z.string().regex(/^[a-zA-Z0-9./_-]+=[a-zA-Z0-9._-]*(,[a-zA-Z0-9./_-]+=[a-zA-Z0-9._-]*)*$/, 'must be LABEL=VALUE[,LABEL=VALUE]'), 'pod labels, as LABEL=VALUE[,LABEL=VALUE]', 'selector');
const count = z.number().int().min(0);
const placeholders =
  'may hold {{svc/NAME}} (its ClusterIP), {{pod/NAME}} or {{pod/LABEL=VALUE@NODE}} (the pod IP), {{node/NAME}} (the node LAN IP), {{fact/NAME}} (a value a setup step recorded) and {{answer/QUIZ}} (the student\'s last answer to a question)';
const cidr = described(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 CIDR such as 10.244.0.0/16'), 'an IPv4 range, as A.B.C.D/N');
const factName = described(name, 'the name a recorded value is kept under; `{{fact/NAME}}` stands for it in quiz answers, answers and checks');

// --- Predicates: true or false about the lab right now, from the agent's objects or the kernel ---
export const predicateSchemas = {
  endpoints: described(
    z.strictObject({ service: z.string(), namespace, ready: count, notReady: count.optional() }),
    "the Service's Endpoints list exactly `ready` ready pod addresses (and `notReady` not-ready ones, when given)",
    'endpoints',
  ),
  pods: described(
    z.strictObject({ selector, namespace, running: count.optional(), ready: count.optional() }),
    'exactly `running` pods with these labels are Running and/or exactly `ready` are Ready',
    'pods',
  ),
  curl: described(
    z.strictObject({
      from: z.union([target, z.array(target).min(1)]),
      to: described(z.string().min(1), `svc/NAME[:PORT][/PATH], pod/NAME[:PORT][/PATH] or a URL; ${placeholders}`),
      namespace,
      tries: described(z.number().int().min(1).max(200), 'requests to send, each on a new connection [default: 1, or 10 per distinct answer wanted]').optional(),
      distinct: described(z.number().int().min(1), 'at least this many different answers (e.g. pod names from /hostname) among the tries').optional(),
      expect: described(z.string(), 'every answer contains this text').optional(),
    }),
    'curl from each `from` to `to` succeeds (every try answered)',
    'curl',
  ),
  sysctl: described(z.strictObject({ node: z.string(), key: z.string().regex(/^[a-z0-9_.\-/]+$/, 'must be a sysctl key such as net.ipv4.ip_forward'), value: z.union([z.string(), z.number()]) }), 'the node has this sysctl value', 'sysctl'),
  iptables: described(
    z
      .strictObject({
        node: described(z.string(), 'one node [default: every node]').optional(),
        table: z.enum(['nat', 'filter', 'mangle', 'raw']).default('nat'),
        chain: described(z.string(), 'only rules of this chain').optional(),
        contains: described(z.string(), `a rule contains this text; ${placeholders}`).optional(),
        lacks: described(z.string(), `no rule contains this text; ${placeholders}`).optional(),
        count: described(count, 'with contains: exactly this many rules contain it').optional(),
      })
      .refine((v) => (v.contains === undefined) !== (v.lacks === undefined), 'give exactly one of contains and lacks')
      .refine((v) => v.count === undefined || v.contains !== undefined, 'count goes with contains'),
    "the rules of `iptables-save -t TABLE` on the node(s) contain, or lack, a text",
    'iptables',
  ),
  nftables: described(
    z
      .strictObject({
        node: described(z.string(), 'one node [default: every node]').optional(),
        contains: described(z.string(), `a line contains this text; ${placeholders}`).optional(),
        lacks: described(z.string(), `no line contains this text; ${placeholders}`).optional(),
        count: described(count, 'with contains: exactly this many lines contain it').optional(),
      })
      .refine((v) => (v.contains === undefined) !== (v.lacks === undefined), 'give exactly one of contains and lacks')
      .refine((v) => v.count === undefined || v.contains !== undefined, 'count goes with contains'),
    "the lines of `nft list table ip kube-proxy` on the node(s) contain, or lack, a text (a node without the table has no lines)",
    'nftables',
  ),
  address: described(
    z.strictObject({
      address: described(z.string(), `an IPv4 address, or svc/NAME, pod/..., node/NAME; ${placeholders}`),
      present: z.boolean(),
      in: described(target, 'only this namespace [default: every node, pod and the LAN]').optional(),
    }),
    'some interface holds the address (present: true), or none does (present: false)',
    'address',
  ),
  podIPs: described(
    z.strictObject({
      selector: described(selector, 'only pods with these labels [default: every pod]').optional(),
      namespace: described(z.string().min(1), 'the Kubernetes namespace, or * for every namespace [default: default]').optional(),
      within: cidr,
    }),
    "at least one pod runs, and every running pod (with these labels) has its IP inside `within`, on an interface of its own network namespace",
    'podIPs',
  ),
  clusterIP: described(
    z.strictObject({ service: z.string(), namespace, within: cidr }),
    "the Service's ClusterIP is inside `within`",
    'clusterIP',
  ),
};

// --- Stateful checks: compare with facts recorded when the scenario started ---
const statefulSchemas = {
  podIPChanged: described(
    z.strictObject({ selector, namespace }),
    'a pod with these labels that ran at the start is gone, and a running pod with these labels has an IP no pod had at the start',
    'podIPChanged',
  ),
  clusterIPUnchanged: described(z.strictObject({ service: z.string(), namespace }), 'the Service still has the ClusterIP it had at the start', 'clusterIPUnchanged'),
  namesKept: described(
    z.strictObject({ namespace }),
    'the namespace holds pods and Services of exactly the names it held at the start (none gone, none new)',
    'namesKept',
  ),
};

export type PredicateKind = keyof typeof predicateSchemas;
export const PREDICATE_KINDS = Object.keys(predicateSchemas) as PredicateKind[];
export const CHECK_KINDS = [...PREDICATE_KINDS, ...(Object.keys(statefulSchemas) as (keyof typeof statefulSchemas)[]), 'quiz'] as const;
export type CheckKind = (typeof CHECK_KINDS)[number];

const checkName = described(name, 'short id, printed by `scenario check`');
const hideDetail = described(z.boolean(), 'print only pass/fail, not what the check saw, when the detail would give the answer away (-o json still has it)').optional();
const quizCheck = z.strictObject({ name: checkName, description: textSchema.optional(), hideDetail, quiz: described(z.string(), 'the id of a quiz entry: its recorded answer is one of the accepted ones') });
export const checkSchema = described(
  z.union([oneKeyUnion({ ...predicateSchemas, ...statefulSchemas }, { name: checkName, description: textSchema, hideDetail }), quizCheck]),
  'a named predicate over the lab; `scenario check` passes when all pass',
  'check',
);

// --- Steps: what setup and solve do to the lab ---
const timeout = described(z.number().positive().max(300), 'seconds [default: 30]').optional();
const waitSchema = z.union([oneKeyUnion(predicateSchemas, { timeout }), z.strictObject({ check: described(z.string(), "the name of one of this scenario's checks"), timeout })]);
const objectRef = described(z.string().regex(/^(pod|deployment|service)\/[^\s/]+$/, 'must be pod/..., deployment/NAME or service/NAME'), 'pod/NAME, pod/LABEL=VALUE[@NODE], deployment/NAME or service/NAME');
const fileList = z.union([z.string(), z.array(z.string()).min(1)]);
const stepSchemas = {
  exec: described(
    z.strictObject({
      in: target,
      namespace,
      command: described(z.array(z.string()).min(1), `argv, no shell; ${placeholders}`),
      allowFailure: z.boolean().optional(),
      record: described(factName, "keep the command's output (trimmed) as this fact").optional(),
    }),
    'run a command in a pod, a node or the LAN',
  ),
  delete: described(z.union([objectRef, z.strictObject({ object: objectRef, namespace })]), 'delete an object'),
  apply: described(fileList, 'apply manifest files of the scenario folder'),
  sysctl: described(z.strictObject({ node: z.string(), key: z.string(), value: z.union([z.string(), z.number()]) }), 'set a sysctl on a node'),
  curl: described(
    z.strictObject({
      from: target,
      to: described(z.string(), `svc/NAME[:PORT][/PATH], pod/NAME[:PORT][/PATH] or a URL; ${placeholders}`),
      namespace,
      count: z.number().int().min(1).max(200).optional(),
      localPort: described(z.number().int().min(1024).max(65535), 'send from this source port (with count 1), so that the connection can be told apart, e.g. in conntrack').optional(),
      record: described(factName, 'keep the first answer (e.g. the pod name /hostname returns) as this fact').optional(),
    }).refine((v) => v.localPort === undefined || (v.count ?? 1) === 1, 'localPort goes with a single request (count 1)'),
    'send requests (failures are ignored)',
  ),
  wait: described(waitSchema, 'wait until a predicate (or a named check) holds'),
  answer: described(z.strictObject({ quiz: z.string(), value: described(z.string(), 'the answer; may hold {{fact/NAME}} and the other placeholders') }), 'record a quiz answer (in solve)'),
  cli: described(
    z.array(z.string()).min(1),
    'run knetlab with these arguments on the scenario\'s lab (e.g. [proxy, resync]); fails the step on a non-zero exit',
  ),
  up: described(
    z.strictObject({ config: described(z.string().min(1), 'a config file of the scenario folder (e.g. solution/config.yaml)') }),
    'converge the running lab to another config, as `knetlab up -c FILE` does (pods and Services are renumbered, names stay)',
  ),
};
export const STEP_KINDS = Object.keys(stepSchemas) as (keyof typeof stepSchemas)[];
export const stepSchema = described(oneKeyUnion(stepSchemas, {}), 'one action on the lab', 'step');

export const quizSchema = described(z.strictObject({
  id: name,
  question: textSchema,
  accept: described(
    z.array(z.string().min(1)).min(1),
    'accepted answers; compared ignoring case, spaces and surrounding quotes. `{{fact/NAME}}` in a form stands for a value a setup step recorded (e.g. the pod that served a connection)',
  ),
}), 'a question; `scenario answer ID QUIZ VALUE` records the answer', 'quiz');

export const scenarioFileSchema = z
  .strictObject({
    id: scenarioId,
    title: textSchema,
    concept: described(textSchema, 'the idea the scenario teaches, in one line'),
    minutes: described(z.number().int().min(1).max(120), 'about how long a student needs'),
    config: described(z.union([z.record(z.string(), z.unknown()), z.string()]), 'k3s-style config.yaml: a mapping, or a file in the folder [default: the built-in lab]').optional(),
    manifests: described(z.array(z.string()).min(1), 'manifest files in the folder, applied by start'),
    setup: described(z.array(stepSchema), 'steps that create the situation once the lab is up (not shown to students)').default([]),
    hints: z.strictObject({ en: z.array(z.string().min(1)).min(1), zh: z.array(z.string().min(1)).min(1) }),
    quiz: z.array(quizSchema).default([]),
    checks: z.array(checkSchema).min(1),
    solve: described(z.array(stepSchema).min(1), 'the reference solution'),
  })
  .meta({ title: 'knetlab scenario', description: 'A guided exercise: scenarios/ID/scenario.yaml next to en.md and zh.md. See scenarios/README.md.' });

export type Text = z.infer<typeof textSchema>;
export type ScenarioFile = z.infer<typeof scenarioFileSchema>;
export type Check = z.infer<typeof checkSchema>;
export type Step = z.infer<typeof stepSchema>;
export type Quiz = z.infer<typeof quizSchema>;
export type Predicates = { [K in PredicateKind]: z.infer<(typeof predicateSchemas)[K]> };
export type PodIPChanged = z.infer<typeof statefulSchemas.podIPChanged>;
export type ClusterIPUnchanged = z.infer<typeof statefulSchemas.clusterIPUnchanged>;
export type NamesKept = z.infer<typeof statefulSchemas.namesKept>;

export const SCHEMA_FILE_NAME = 'scenario.schema.json';

/** scenario.schema.json: draft-07, which every YAML language server reads. */
export function renderScenarioJsonSchema(): string {
  // io 'input': what an author may write, so keys with defaults (setup, quiz, table) are optional.
  const schema = z.toJSONSchema(scenarioFileSchema, { target: 'draft-7', io: 'input', unrepresentable: 'any' });
  return JSON.stringify(schema, null, 2) + '\n';
}
