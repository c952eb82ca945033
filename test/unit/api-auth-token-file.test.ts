// The static token file (kube-apiserver's --token-auth-file format): good lines, each kind of bad
// line named with its number, generated garbage that never escapes as anything but TokenFileError,
// and the file written at first start.
import test from 'ava';
import * as fc from 'fast-check';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTokenFile, formatTokenLine, parseTokenFile, TokenFileError } from '../../src/api/auth/token-file.js';

test('good lines: three or four columns, quoted groups, comments and blank lines', (t) => {
  const tokens = parseTokenFile(['# comment', '', 'abc123,alice,u1,"dev,ops"', 'def456,bob,u2', 'ghi789,"carol, the admin",u3,system:masters', 'x-1,dave,u4,""', '"q""t",eve,u5\r'].join('\n'));
  t.deepEqual(tokens, [
    { token: 'abc123', user: { name: 'alice', uid: 'u1', groups: ['dev', 'ops'] } },
    { token: 'def456', user: { name: 'bob', uid: 'u2', groups: [] } },
    { token: 'ghi789', user: { name: 'carol, the admin', uid: 'u3', groups: ['system:masters'] } },
    { token: 'x-1', user: { name: 'dave', uid: 'u4', groups: [] } },
    { token: 'q"t', user: { name: 'eve', uid: 'u5', groups: [] } },
  ]);
});

const badLines: ReadonlyArray<readonly [string, string, RegExp]> = [
  ['too few columns', 'tok,alice', /line 2: expected at least 3 columns/],
  ['too many columns', 'tok,alice,u1,g,extra', /line 2: expected at most 4 columns/],
  ['empty token', ',alice,u1', /line 2: the token is empty/],
  ['token with a space', 'to k,alice,u1', /line 2: the token must be printable/],
  ['empty user', 'tok,,u1', /line 2: the user name is empty/],
  ['padded user', 'tok, alice,u1', /line 2: the user name is empty or has surrounding spaces/],
  ['unclosed quote', 'tok,"alice,u1', /line 2: a quoted field is not closed/],
  ['text after a quote', 'tok,"alice"x,u1', /line 2: unexpected "x" after a quoted field/],
  ['bare quote', 'tok,al"ice,u1', /line 2: a bare quote/],
  ['empty group', 'tok,alice,u1,"a,,b"', /line 2: the group list "a,,b" has an empty/],
  ['duplicate token', 'first,bob,u9', /line 2: the token is already used on line 1/],
  ['control character', 'tok,al\x01ice,u1', /line 2: control characters/],
];

for (const [what, line, message] of badLines) {
  test(`bad line: ${what}`, (t) => {
    const error = t.throws(() => parseTokenFile(`first,alice,u0\n${line}\n`, '/etc/tokens.csv'), { instanceOf: TokenFileError });
    t.regex(error?.message ?? '', message);
    t.true(error?.message.startsWith('token file /etc/tokens.csv: line 2: '));
    t.is(error?.code, 'TOKEN_FILE_INVALID');
    t.is(error?.line, 2);
  });
}

test('garbage text either parses or throws TokenFileError, never anything else (fast-check)', (t) => {
  const alphabet = fc.constantFrom('a', 'b', ',', '"', ' ', '\n', '\r', '#', ':', '\t', '\x00', 'é');
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 80 }).map((chars) => chars.join('')), (text) => {
      try {
        for (const entry of parseTokenFile(text)) {
          if (entry.token === '' || /\s/.test(entry.token) || entry.user.name === '') return false;
        }
        return true;
      } catch (error) {
        return error instanceof TokenFileError;
      }
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('formatTokenLine round-trips through parseTokenFile (fast-check)', (t) => {
  const word = fc.stringMatching(/^[a-z][a-z0-9:,"-]{0,12}[a-z0-9]$/);
  const entry = fc.record({
    token: fc.stringMatching(/^[A-Za-z0-9._~+/-]{1,40}$/),
    user: fc.record({ name: word, uid: fc.stringMatching(/^[a-z0-9-]{0,8}$/), groups: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9:-]{0,10}$/), { maxLength: 3 }) }),
  });
  fc.assert(
    fc.property(entry, (value) => {
      const parsed = parseTokenFile(formatTokenLine(value));
      return JSON.stringify(parsed) === JSON.stringify([value]);
    }),
    { numRuns: 500 },
  );
  t.pass();
});

test('ensureTokenFile writes one random admin token (0600) at first start and reads it afterwards', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kplane-tokens-'));
  const first = ensureTokenFile(dir);
  t.is(first.tokens.length, 1);
  t.regex(first.adminToken ?? '', /^[0-9a-f]{64}$/);
  t.deepEqual(first.tokens[0]?.user, { name: 'admin', uid: 'admin', groups: ['system:masters'] });
  t.is(statSync(first.path).mode & 0o777, 0o600);
  const second = ensureTokenFile(dir);
  t.is(second.adminToken, first.adminToken);
  t.not(ensureTokenFile(mkdtempSync(join(tmpdir(), 'kplane-tokens-'))).adminToken, first.adminToken);
  writeFileSync(first.path, `${readFileSync(first.path, 'utf8')}broken\n`);
  t.throws(() => ensureTokenFile(dir), { instanceOf: TokenFileError, message: /line 3: expected at least 3 columns/ });
});
