// Who is asking, on the actor transport: the user an API call runs as, taken from what the transport
// proved about the sending peer (src/actors/sender.ts), never from the message.
//
//   - A peer that presented a certificate of the cluster CA (WsTransport's TLS mode): CN = user name
//     (exactly one, non-empty), O = groups, as the HTTPS face reads client certificates.
//   - A peer with no certificate (secret-only transport): it proved the cluster secret, which every
//     member holds, so its node id says nothing about who it is. Such peers are refused (401) unless
//     the endpoint was given `secretPeerUsers`, an explicit map from node name (the part of the node
//     id before '@') to user: a deliberate choice for clusters that run without per-component
//     certificates, trusting every holder of the secret to name itself honestly.
//   - A message told inside the API server's own process has no remote sender: refused too (the
//     in-process way in is LocalApiTransport, with an explicit user).
// Every authenticated user also gets the group system:authenticated.

import type { RemoteSender } from '../../actors/index.js';
import type { UserInfo } from '../auth-types.js';
import { withAuthenticatedGroup } from '../auth/authenticator.js';

export type SenderIdentity = { readonly kind: 'user'; readonly user: UserInfo } | { readonly kind: 'refused'; readonly reason: string };

/** The name part of a node id ("controller-manager@127.0.0.1:7001" → "controller-manager"). */
export function nodeName(node: string): string {
  const at = node.indexOf('@');
  return at < 0 ? node : node.slice(0, at);
}

export function identifySender(sender: RemoteSender | undefined, secretPeerUsers: ReadonlyMap<string, UserInfo>): SenderIdentity {
  if (sender === undefined) return { kind: 'refused', reason: 'the request did not come from an authenticated peer' };
  const certificate = sender.certificate;
  if (certificate !== undefined) {
    const name = certificate.commonNames[0];
    if (name === undefined || name === '' || certificate.commonNames.length > 1) {
      return { kind: 'refused', reason: 'the peer certificate must have exactly one non-empty common name' };
    }
    const groups = certificate.organizations.filter((group) => group !== '');
    return { kind: 'user', user: withAuthenticatedGroup({ name, groups }) };
  }
  const mapped = secretPeerUsers.get(nodeName(sender.node));
  if (mapped !== undefined) return { kind: 'user', user: withAuthenticatedGroup(mapped) };
  return { kind: 'refused', reason: 'the peer presented no certificate and its node is not mapped to a user' };
}
