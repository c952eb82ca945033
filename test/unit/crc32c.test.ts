// CRC-32C against published vectors (RFC 3720 appendix B.4) and a bit-at-a-time reference.
import test from 'ava';
import fc from 'fast-check';
import { crc32c } from '../../src/raft/crc32c.js';

function reference(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

test('"123456789" checks to 0xE3069283', (t) => {
  t.is(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
});

test('RFC 3720 B.4 vectors', (t) => {
  t.is(crc32c(new Uint8Array(32)), 0x8a9136aa);
  t.is(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  t.is(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  t.is(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  const readPdu = Uint8Array.from([
    0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
    0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  ]);
  t.is(crc32c(readPdu), 0xd9963a56);
});

test('empty input checks to 0', (t) => {
  t.is(crc32c(new Uint8Array(0)), 0);
});

test('slice-by-8 matches the bitwise reference, and chaining equals checking the concatenation', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), (a, b) => {
      const joined = new Uint8Array(a.length + b.length);
      joined.set(a);
      joined.set(b, a.length);
      return crc32c(a) === reference(a) && crc32c(b, crc32c(a)) === crc32c(joined);
    }),
  );
  t.pass();
});

test('start/end select a sub-range', (t) => {
  const bytes = new TextEncoder().encode('xx123456789yy');
  t.is(crc32c(bytes, 0, 2, 11), 0xe3069283);
});
