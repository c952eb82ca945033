// The node allocation ledger: one store key per node (`/registry/kplane.io/nodeallocations/<node>`)
// listing the pods placed there (through pods/binding, or created with spec.nodeName), each with its
// uid and requests. The binding (or create) writes the pod and the ledger in one store transaction
// guarded by both keys' mod revisions, so two writers racing for a node's last room serialise on the
// ledger and the loser is refused: no node can be overcommitted, by construction (docs/decisions/0005-no-overcommit-binding.md).
//
// Entries are released lazily: an entry whose pod is gone (or is another pod of the same name, or has
// finished) no longer holds anything, and since neither can be undone, the binding may drop such
// entries whenever it reads them without any further coordination. Pure: no I/O here.

import { addResources, NO_RESOURCES, type Resources } from './resources.js';

export const LEDGER_PREFIX = '/registry/kplane.io/nodeallocations/';

export interface LedgerEntry {
  readonly uid: string;
  readonly cpuMillis: number;
  readonly memoryBytes: number;
}

/** Pod key (namespace/name) → entry. */
export type Ledger = ReadonlyMap<string, LedgerEntry>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function ledgerKey(node: string): string {
  return LEDGER_PREFIX + node;
}

export function decodeLedger(value: Uint8Array | undefined): Map<string, LedgerEntry> {
  const ledger = new Map<string, LedgerEntry>();
  if (value === undefined || value.length === 0) return ledger;
  const parsed = JSON.parse(decoder.decode(value)) as { readonly pods?: Readonly<Record<string, LedgerEntry>> };
  for (const [key, entry] of Object.entries(parsed.pods ?? {})) ledger.set(key, { uid: entry.uid, cpuMillis: entry.cpuMillis, memoryBytes: entry.memoryBytes });
  return ledger;
}

export function encodeLedger(ledger: Ledger): Uint8Array {
  const pods: Record<string, LedgerEntry> = {};
  for (const key of [...ledger.keys()].sort()) {
    const entry = ledger.get(key);
    if (entry !== undefined) pods[key] = entry;
  }
  return encoder.encode(JSON.stringify({ pods }));
}

/** What the ledger's pods hold in total (each entry is one pod slot). */
export function committedResources(ledger: Ledger): Resources {
  let total = NO_RESOURCES;
  for (const entry of ledger.values()) total = addResources(total, { cpuMillis: entry.cpuMillis, memoryBytes: entry.memoryBytes, pods: 1 });
  return total;
}

/** The state of an entry's pod as read from the store, for pruning. */
export type EntryPodState = { readonly kind: 'gone' } | { readonly kind: 'present'; readonly uid: string; readonly terminal: boolean };

/** True when the entry no longer holds resources (and never will again). */
export function isReleased(entry: LedgerEntry, pod: EntryPodState): boolean {
  return pod.kind === 'gone' || pod.uid !== entry.uid || pod.terminal;
}
