// Service account tokens (auth/jwt.ts, auth/service-account-tokens.ts) on a virtual clock: a token
// authenticates its ServiceAccount with the Kubernetes user, groups, uid and extra; a tampered,
// foreign, expired, not-yet-valid, wrong-audience or wrong-issuer token, or one whose ServiceAccount
// (or bound pod) is gone or was recreated, is rejected; garbage never throws and is always rejected.
import test from 'ava';
import fc from 'fast-check';
import { VirtualClock } from '../../src/actors/sim/virtual-clock.js';
import { JwtSigner, JwtVerifier, generateSigningKeyPair, isUsableKeyPair, looksLikeJwt } from '../../src/api/auth/jwt.js';
import { EXTRA_CREDENTIAL_ID, EXTRA_POD_NAME, EXTRA_POD_UID, ServiceAccountTokens, type LiveObjectLookup } from '../../src/api/auth/service-account-tokens.js';

const KEYS = generateSigningKeyPair();
const OTHER_KEYS = generateSigningKeyPair();
const START_MS = Date.UTC(2026, 0, 1);

interface Fixture {
  readonly clock: VirtualClock;
  readonly live: Map<string, string>;
  readonly tokens: ServiceAccountTokens;
}

function fixture(keys = KEYS, options: { issuer?: string; audiences?: readonly string[] } = {}): Fixture {
  const clock = new VirtualClock(START_MS);
  const live = new Map<string, string>([
    ['ServiceAccount/default/robot', 'sa-uid-1'],
    ['Pod/default/web', 'pod-uid-1'],
    ['Secret/default/creds', 'secret-uid-1'],
  ]);
  const lookup: LiveObjectLookup = async (kind, namespace, name) => live.get(`${kind}/${namespace}/${name}`);
  return { clock, live, tokens: new ServiceAccountTokens({ keys, clock, lookup, ...options }) };
}

const ROBOT = { namespace: 'default', serviceAccount: { name: 'robot', uid: 'sa-uid-1' } };

function issueFor(f: Fixture, extra: Partial<Parameters<ServiceAccountTokens['issue']>[0]> = {}): string {
  return f.tokens.issue({ ...ROBOT, audiences: f.tokens.audiences, expirationSeconds: 3600, ...extra }).token;
}

test('a key pair signs and verifies; a tampered token or another key does not verify', (t) => {
  t.true(isUsableKeyPair(KEYS));
  t.false(isUsableKeyPair({ privateKey: KEYS.privateKey, publicKey: OTHER_KEYS.publicKey }));
  t.false(isUsableKeyPair({ privateKey: 'not a key', publicKey: KEYS.publicKey }));
  const token = new JwtSigner(KEYS).sign({ sub: 'x', n: 1 });
  t.true(looksLikeJwt(token));
  t.deepEqual(new JwtVerifier([KEYS.publicKey]).verify(token), { claims: { sub: 'x', n: 1 } });
  t.like(new JwtVerifier([OTHER_KEYS.publicKey]).verify(token), { problem: 'the token signature does not verify' });
  const [header, , signature] = token.split('.');
  const forgedClaims = Buffer.from(JSON.stringify({ sub: 'y', n: 1 })).toString('base64url');
  t.like(new JwtVerifier([KEYS.publicKey]).verify(`${header}.${forgedClaims}.${signature}`), { problem: 'the token signature does not verify' });
  // The same signature spelled with other unused low bits in its last character is refused too.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(token.slice(-1));
  const sibling = alphabet[last ^ 1] ?? 'A';
  t.like(new JwtVerifier([KEYS.publicKey]).verify(`${token.slice(0, -1)}${sibling}`), { problem: 'the token is not canonical base64url' });
  const noneHeader = Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url');
  t.like(new JwtVerifier([KEYS.publicKey]).verify(`${noneHeader}.${forgedClaims}.${signature}`), { problem: 'the token is not signed with ES256' });
});

test('a token authenticates its service account: user, uid, groups, extra and audiences', async (t) => {
  const f = fixture();
  const issued = f.tokens.issue({ ...ROBOT, audiences: ['https://kubernetes.default.svc'], expirationSeconds: 3600 });
  t.is(issued.expirationTimestamp, '2026-01-01T01:00:00Z');
  const result = await f.tokens.authenticate(issued.token);
  if (result.kind !== 'authenticated') return t.fail(result.reason);
  t.is(result.user.name, 'system:serviceaccount:default:robot');
  t.is(result.user.uid, 'sa-uid-1');
  t.deepEqual(result.user.groups, ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated']);
  t.regex(result.user.extra?.[EXTRA_CREDENTIAL_ID]?.[0] ?? '', /^JTI=[0-9a-f-]{36}$/);
  t.deepEqual(result.audiences, ['https://kubernetes.default.svc']);
});

test('expiry and not-before follow the injected clock', async (t) => {
  const f = fixture();
  const token = issueFor(f, { expirationSeconds: 600 });
  f.clock.advanceSync(599_000);
  t.is((await f.tokens.authenticate(token)).kind, 'authenticated');
  f.clock.advanceSync(1_000);
  t.deepEqual(await f.tokens.authenticate(token), { kind: 'rejected', reason: 'the token has expired' });
  // A clock that went back before the token was issued: not valid yet.
  const early = fixture();
  const later = issueFor(early);
  const back = new ServiceAccountTokens({ keys: KEYS, clock: new VirtualClock(START_MS - 60_000), lookup: async (kind, ns, name) => early.live.get(`${kind}/${ns}/${name}`) });
  t.deepEqual(await back.authenticate(later), { kind: 'rejected', reason: 'the token is not valid yet' });
});

test('a deleted or recreated service account, or a gone bound pod or secret, ends the token', async (t) => {
  const f = fixture();
  const plain = issueFor(f);
  const podBound = issueFor(f, { boundObject: { kind: 'Pod', name: 'web', uid: 'pod-uid-1' } });
  const secretBound = issueFor(f, { boundObject: { kind: 'Secret', name: 'creds', uid: 'secret-uid-1' } });
  const podResult = await f.tokens.authenticate(podBound);
  if (podResult.kind !== 'authenticated') return t.fail(podResult.reason);
  t.deepEqual(podResult.user.extra?.[EXTRA_POD_NAME], ['web']);
  t.deepEqual(podResult.user.extra?.[EXTRA_POD_UID], ['pod-uid-1']);
  t.is((await f.tokens.authenticate(secretBound)).kind, 'authenticated');

  f.live.set('Pod/default/web', 'pod-uid-2');
  t.is((await f.tokens.authenticate(podBound)).kind, 'rejected', 'a pod recreated under the same name');
  f.live.delete('Secret/default/creds');
  t.is((await f.tokens.authenticate(secretBound)).kind, 'rejected');
  t.is((await f.tokens.authenticate(plain)).kind, 'authenticated', 'an unbound token does not care');

  f.live.delete('ServiceAccount/default/robot');
  t.deepEqual(await f.tokens.authenticate(plain), { kind: 'rejected', reason: 'service account default/robot no longer exists' });
  f.live.set('ServiceAccount/default/robot', 'sa-uid-2');
  t.is((await f.tokens.authenticate(plain)).kind, 'rejected', 'a service account recreated under the same name');
});

test('audiences, issuer and key must all be this server\'s', async (t) => {
  const f = fixture();
  const forOthers = issueFor(f, { audiences: ['vault'] });
  t.deepEqual(await f.tokens.authenticate(forOthers), { kind: 'rejected', reason: 'the token audiences are not accepted' });
  t.like(await f.tokens.authenticate(forOthers, ['vault']), { kind: 'authenticated', audiences: ['vault'] });
  const otherIssuer = fixture(KEYS, { issuer: 'https://elsewhere' });
  t.deepEqual(await f.tokens.authenticate(issueFor(otherIssuer)), { kind: 'rejected', reason: 'the token was issued by another issuer' });
  const otherKey = fixture(OTHER_KEYS);
  t.deepEqual(await f.tokens.authenticate(issueFor(otherKey)), { kind: 'rejected', reason: 'the token signature does not verify' });
});

test('garbage and mutated tokens are rejected, never thrown (fast-check)', async (t) => {
  const f = fixture();
  const good = issueFor(f);
  const segment = fc.stringMatching(/^[A-Za-z0-9_-]{0,120}$/);
  const jsonSegment = fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? 'null').toString('base64url'));
  const garbage = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.tuple(segment, segment, segment).map((parts) => parts.join('.')),
    fc.tuple(jsonSegment, jsonSegment, segment).map((parts) => parts.join('.')),
    // One character of a real token changed.
    fc.tuple(fc.nat({ max: good.length - 1 }), fc.constantFrom(...'ABCabc012-_.=')).map(([index, char]) => `${good.slice(0, index)}${char}${good.slice(index + 1)}`).filter((token) => token !== good),
    // A real token with its claims swapped for arbitrary JSON, signature kept.
    jsonSegment.map((claims) => {
      const [header, , signature] = good.split('.');
      return `${header}.${claims}.${signature}`;
    }),
  );
  await fc.assert(
    fc.asyncProperty(garbage, async (token) => {
      const result = await f.tokens.authenticate(token);
      return result.kind === 'rejected' && typeof result.reason === 'string';
    }),
    { numRuns: 400 },
  );
  t.pass();
});

test('a failing lookup is the server\'s trouble: it throws instead of calling the token bad', async (t) => {
  const f = fixture();
  const token = issueFor(f);
  const broken = new ServiceAccountTokens({
    keys: KEYS,
    clock: f.clock,
    lookup: async () => {
      throw new Error('store unavailable');
    },
  });
  await t.throwsAsync(broken.authenticate(token), { message: 'store unavailable' });
  t.is((await broken.authenticate('garbage')).kind, 'rejected', 'garbage never reaches the lookup');
});
