// Static bearer tokens in kube-apiserver's `--token-auth-file` format: one CSV record per line,
// `token,user,uid[,"group1,group2"]`. Parsed strictly (a bad line is an error that names it, never
// a silently skipped record); blank lines and lines starting with `#` are ignored. The cluster's
// file (`<cluster dir>/tokens.csv`, 0600) is written at first start with one random admin token in
// group system:masters and read as it is afterwards.

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { UserInfo } from '../auth-types.js';

export const TOKEN_FILE = 'tokens.csv';
/** Bytes of randomness in a generated token (256 bits, hex-encoded). */
export const TOKEN_BYTES = 32;
/** A file bigger than this is refused (a token file is a handful of lines). */
export const MAX_TOKEN_FILE_BYTES = 1024 * 1024;

export interface TokenUser extends UserInfo {
  readonly uid: string;
}

export interface StaticToken {
  readonly token: string;
  readonly user: TokenUser;
}

export class TokenFileError extends Error {
  readonly code = 'TOKEN_FILE_INVALID';
  readonly retryable = false;
  constructor(
    readonly source: string,
    /** 1-based; 0 for a problem with the whole file. */
    readonly line: number,
    problem: string,
  ) {
    super(line === 0 ? `token file ${source}: ${problem}` : `token file ${source}: line ${line}: ${problem}`);
    this.name = 'TokenFileError';
  }
}

/** Splits one CSV record: fields separated by commas, optionally double-quoted ("" inside quotes is a quote). */
function splitRecord(line: string): string[] | string {
  const fields: string[] = [];
  let index = 0;
  for (;;) {
    let field = '';
    if (line[index] === '"') {
      index++;
      for (;;) {
        if (index >= line.length) return 'a quoted field is not closed';
        const char = line[index];
        if (char === '"') {
          if (line[index + 1] === '"') {
            field += '"';
            index += 2;
            continue;
          }
          index++;
          break;
        }
        field += char;
        index++;
      }
      if (index < line.length && line[index] !== ',') return `unexpected ${JSON.stringify(line[index])} after a quoted field`;
    } else {
      const end = line.indexOf(',', index);
      field = end === -1 ? line.slice(index) : line.slice(index, end);
      if (field.includes('"')) return 'a bare quote in an unquoted field';
      index = end === -1 ? line.length : end;
    }
    fields.push(field);
    if (index >= line.length) return fields;
    index++; // the comma
  }
}

const PRINTABLE_NO_SPACE = /^[\x21-\x7e]+$/;

/**
 * Parses the text of a token file. `source` names it in errors (a path). Throws TokenFileError
 * naming the first bad line.
 */
export function parseTokenFile(text: string, source = TOKEN_FILE): StaticToken[] {
  if (text.length > MAX_TOKEN_FILE_BYTES) throw new TokenFileError(source, 0, `larger than ${MAX_TOKEN_FILE_BYTES} bytes`);
  const tokens: StaticToken[] = [];
  const seen = new Map<string, number>();
  const lines = text.split('\n');
  lines.forEach((rawLine, position) => {
    const lineNumber = position + 1;
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line.trim() === '' || line.startsWith('#')) return;
    const fail = (problem: string): never => {
      throw new TokenFileError(source, lineNumber, problem);
    };
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(line)) fail('control characters are not allowed');
    const fields = splitRecord(line);
    if (typeof fields === 'string') return fail(fields);
    if (fields.length < 3) fail(`expected at least 3 columns (token, user name, user uid), found ${fields.length}`);
    if (fields.length > 4) fail(`expected at most 4 columns (token, user name, user uid, groups), found ${fields.length}`);
    const [token = '', name = '', uid = '', groupText] = fields;
    if (token === '') fail('the token is empty');
    if (!PRINTABLE_NO_SPACE.test(token)) fail('the token must be printable ASCII without spaces');
    if (name.trim() === '' || name !== name.trim()) fail('the user name is empty or has surrounding spaces');
    if (uid !== uid.trim()) fail('the uid has surrounding spaces');
    const groups: string[] = [];
    if (groupText !== undefined && groupText !== '') {
      for (const group of groupText.split(',')) {
        if (group.trim() === '' || group !== group.trim()) fail(`the group list ${JSON.stringify(groupText)} has an empty or space-padded group`);
        if (!groups.includes(group)) groups.push(group);
      }
    }
    const earlier = seen.get(token);
    if (earlier !== undefined) fail(`the token is already used on line ${earlier}`);
    seen.set(token, lineNumber);
    tokens.push({ token, user: { name, uid, groups } });
  });
  return tokens;
}

function csvField(value: string): string {
  return /[",]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** One line of a token file (the inverse of parseTokenFile for one record). */
export function formatTokenLine(entry: StaticToken): string {
  const fields = [entry.token, csvField(entry.user.name), csvField(entry.user.uid)];
  if (entry.user.groups.length > 0) fields.push(csvField(entry.user.groups.join(',')));
  return fields.join(',');
}

export function generateToken(): string {
  return randomBytes(TOKEN_BYTES).toString('hex');
}

export interface ClusterTokens {
  readonly path: string;
  readonly tokens: readonly StaticToken[];
  /** The first token of a user in system:masters (the one written at first start), if any. */
  readonly adminToken: string | undefined;
}

/**
 * Reads `<dir>/tokens.csv`, writing it first (0600, one random admin token in system:masters) when
 * it does not exist. An edited file is read as it is: a bad line is a TokenFileError.
 */
export function ensureTokenFile(dir: string): ClusterTokens {
  const path = join(dir, TOKEN_FILE);
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const admin: StaticToken = { token: generateToken(), user: { name: 'admin', uid: 'admin', groups: ['system:masters'] } };
    const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temporary, `# token,user,uid,"group1,group2" (kube-apiserver --token-auth-file format)\n${formatTokenLine(admin)}\n`, { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, path);
  }
  return readTokenFile(path);
}

export function readTokenFile(path: string): ClusterTokens {
  const tokens = parseTokenFile(readFileSync(path, 'utf8'), path);
  const admin = tokens.find((entry) => entry.user.groups.includes('system:masters'));
  return { path, tokens, adminToken: admin?.token };
}
