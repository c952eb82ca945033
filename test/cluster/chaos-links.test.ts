// The link-fault rules on their own: which frames a partition, a one-way partition, a drop rate and a
// delay affect, by process name (and name prefix, for the API server's store client).
import test from 'ava';
import { Prng } from '../../src/actors/random.js';
import { judgeFrame, partitionRules, targetRules } from '../../src/cluster/chaos-links.js';

const random = new Prng(1);
const s1 = 'store-1@127.0.0.1:7101';
const s2 = 'store-2@127.0.0.1:7102';
const s3 = 'store-3@127.0.0.1:7103';
const apiStoreClient = 'apiserver-1-store-abc123';

test('a symmetric partition drops both ways between the sides and nothing else', (t) => {
  const faults = { rules: partitionRules(['store-1'], ['store-2', 'store-3'], false) };
  t.is(judgeFrame(faults, s1, s2, random).kind, 'drop');
  t.is(judgeFrame(faults, s3, s1, random).kind, 'drop');
  t.is(judgeFrame(faults, s2, s3, random).kind, 'pass');
  t.is(judgeFrame(faults, apiStoreClient, s1, random).kind, 'pass', 'the API server was not named');
});

test('a one-way partition drops only from the left side', (t) => {
  const faults = { rules: partitionRules(['store-1'], ['store-2'], true) };
  t.is(judgeFrame(faults, s1, s2, random).kind, 'drop');
  t.is(judgeFrame(faults, s2, s1, random).kind, 'pass');
});

test('names match node ids and their prefixes; delay and drop apply to both directions', (t) => {
  const other = { rules: partitionRules(['apiserver-2'], ['store-1'], false) };
  t.is(judgeFrame(other, apiStoreClient, s1, random).kind, 'pass', 'apiserver-1 is not apiserver-2');
  const ten = { rules: partitionRules(['store-1'], ['store-2'], false) };
  t.is(judgeFrame(ten, 'store-10@127.0.0.1:7110', s2, random).kind, 'pass', 'store-1 does not match store-10');
  const byName = { rules: partitionRules(['apiserver-1'], ['store-2'], false) };
  t.is(judgeFrame(byName, apiStoreClient, s2, random).kind, 'drop');
  t.is(judgeFrame(byName, s2, apiStoreClient, random).kind, 'drop');
  const delayed = { rules: targetRules(['store-2'], { delayMs: 40 }) };
  t.deepEqual(judgeFrame(delayed, s1, s2, random), { kind: 'delay', ms: 40 });
  t.deepEqual(judgeFrame(delayed, s2, s3, random), { kind: 'delay', ms: 40 });
  t.is(judgeFrame(delayed, s1, s3, random).kind, 'pass');
  const dropAll = { rules: targetRules(['store-2'], { dropPercent: 100 }) };
  const dropNone = { rules: targetRules(['store-2'], { dropPercent: 0 }) };
  t.is(judgeFrame(dropAll, s1, s2, random).kind, 'drop');
  t.is(judgeFrame(dropNone, s1, s2, random).kind, 'pass');
});
