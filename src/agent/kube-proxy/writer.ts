// What kube-proxy's two modes have in common, as the agent drives them: for one node at a time,
// get ready (the first time kube-proxy sees the node), write the rules from a snapshot on top of
// what the last sync wrote, and tell whether someone removed them by hand. iptables.ts and
// nftables.ts implement it; index.ts schedules syncs and does not care which mode runs.
import type { ProxyMode } from '../../config/types.js';
import type { NodePlan } from '../../dataplane/plan.js';
import type { ProxySnapshot } from '../../proxy/types.js';

export interface WriteContext {
  clusterCIDR: string;
  serviceCIDR: string;
}

export interface Written<State> {
  /** What the next partial sync builds on. */
  state: State;
  /** Lines of restore or nft input written, for the Synced event. */
  lines: number;
  /** Kernel transactions applied (0: nothing had changed). */
  transactions: number;
}

export interface ModeWriter<State = unknown> {
  readonly mode: ProxyMode;
  /** How the rules are written, as the Synced event names it. */
  readonly tool: string;
  /**
   * First sync of a node (or of a node in this mode): remove every trace of the other mode, as
   * kube-proxy does at start-up, and install what is installed once.
   */
  prepare(node: NodePlan): Promise<void>;
  /** One sync: full when `previous` is undefined, else only what changed since. */
  write(node: NodePlan, ctx: WriteContext, snapshot: ProxySnapshot, previous: State | undefined): Promise<Written<State>>;
  /** False when the rules were removed behind kube-proxy's back (a flushed table): the node needs a full sync. */
  intact(node: NodePlan): Promise<boolean>;
}
