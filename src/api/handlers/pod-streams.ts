// pods/exec, pods/attach and pods/portforward: kplane runs no container runtime, so there is no
// stream to connect to. Every verb kubectl uses (GET or POST, an upgrade to SPDY or WebSocket or a
// plain request) is answered — after authorization, and 404 for a pod that does not exist — with a
// 400 BadRequest Status whose message kubectl prints for exec, attach, port-forward and cp (which
// runs tar through exec). The connection is never upgraded.

import { pods } from '../registry/core.js';
import { errors } from '../status.js';
import type { ResourceTarget } from './common.js';
import type { ApiResponse, HandlerContext } from './types.js';

export const STREAMING_SUBRESOURCES: ReadonlySet<string> = new Set(['exec', 'attach', 'portforward']);

export function noRuntimeMessage(subresource: string): string {
  return `kplane runs no container runtime: pods/${subresource} is not supported (see docs/kubectl.md)`;
}

export async function refuseStream(context: HandlerContext, target: ResourceTarget & { readonly subresource: string }): Promise<ApiResponse> {
  if (target.verb !== 'get' && target.verb !== 'create') throw errors.methodNotAllowed();
  await context.objects.get(pods, target.namespace, target.name ?? '');
  throw errors.badRequest(noRuntimeMessage(target.subresource));
}
