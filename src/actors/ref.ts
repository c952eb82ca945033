// Actor references: plain, serialisable data naming one actor in one process incarnation.
// A ref travels inside CBOR messages as-is ({ node, incarnation, path }), which is what makes actors
// location-transparent: the system delivers locally when `node` is its own, through remoting otherwise.
import type { NodeId } from './transport.js';

export interface ActorRef<M = unknown> {
  /** The process holding the actor ("name@host:port" or a bare "name"), see transport.ts. */
  readonly node: NodeId;
  /** That process's incarnation; "" on a ref made by name before the incarnation is known (matches any). */
  readonly incarnation: string;
  /** e.g. "/user/store/raft", "/temp/<correlation id>". */
  readonly path: string;
  /** Phantom type only: never set. */
  readonly __message?: M;
}

/** The path prefix of user actors (children of the /user guardian). */
export const USER_PATH = '/user';
/** The path prefix of the temporary refs that receive ask replies. */
export const TEMP_PATH_PREFIX = '/temp/';

export function makeRef<M>(node: NodeId, incarnation: string, path: string): ActorRef<M> {
  return { node, incarnation, path };
}

/** A stable string key for maps of refs (node and path; the incarnation is checked separately). */
export function refKey(ref: ActorRef): string {
  return `${ref.node}\u0000${ref.path}`;
}

/** Whether two refs name the same actor (an empty incarnation matches any). */
export function sameActor(a: ActorRef, b: ActorRef): boolean {
  return a.node === b.node && a.path === b.path && (a.incarnation === '' || b.incarnation === '' || a.incarnation === b.incarnation);
}

/** A shape check for refs that arrive from outside (inside remote messages). */
export function isActorRef(value: unknown): value is ActorRef {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { node?: unknown; incarnation?: unknown; path?: unknown };
  return typeof candidate.node === 'string' && typeof candidate.incarnation === 'string' && typeof candidate.path === 'string' && candidate.path.startsWith('/');
}

export function formatRef(ref: ActorRef): string {
  return `${ref.node}${ref.path}`;
}
