import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { bodyKindOf, peek, sniff } from './archive.js';
import { codingsOf, decodingFor } from './mask.js';

test('archive - content types: gzip files are checked, archives are uninspectable, untyped bodies are sniffed', () => {
  for (const t of ['application/gzip', 'application/x-gzip; charset=binary', 'application/vnd.oci.image.layer.v1.tar+gzip', 'application/x-compressed-tar']) {
    assert.equal(bodyKindOf(t).kind, 'gzip', t);
  }
  for (const t of [
    'application/zip',
    'application/epub+zip',
    'application/x-xz',
    'application/zstd',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  ]) {
    assert.equal(bodyKindOf(t).kind, 'archive', t);
  }
  for (const t of [undefined, '', 'application/octet-stream']) assert.equal(bodyKindOf(t).kind, 'sniff', String(t));
  for (const t of ['application/json', 'text/plain', 'text/event-stream', 'application/x-git-upload-pack-result', 'application/x-tar']) {
    assert.equal(bodyKindOf(t).kind, 'plain', t);
  }
});

test('archive - sniffing the first bytes finds gzip and archives, and takes text for text', () => {
  assert.equal(sniff(gzipSync('x')).kind, 'gzip');
  assert.deepEqual(sniff(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14])), { kind: 'archive', what: 'zip data' });
  assert.deepEqual(sniff(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00])), { kind: 'archive', what: 'xz data' });
  assert.deepEqual(sniff(Buffer.from('BZh91AY&SYxxxx', 'latin1')), { kind: 'archive', what: 'bzip2 data' });
  assert.equal(sniff(Buffer.from('BZh is how this text starts')).kind, 'plain');
  assert.equal(sniff(Buffer.from('PK')).kind, 'plain');
  assert.equal(sniff(Buffer.alloc(0)).kind, 'plain');
});

test('archive - peek reads the first bytes across chunks and gives the whole body back, short bodies too', async () => {
  const read = async (r: Readable): Promise<string> => {
    const all: Buffer[] = [];
    for await (const c of r) all.push(c as Buffer);
    return Buffer.concat(all).toString();
  };
  const p = await peek(Readable.from([Buffer.from('ab'), Buffer.from('cdef'), Buffer.from('ghij')]), 5);
  assert.ok(p.head.length >= 5 && p.head.subarray(0, 5).equals(Buffer.from('abcde')));
  assert.equal(await read(p.body), 'abcdefghij');
  // A body shorter than the sniff (it ended while being peeked at) is not lost.
  const short = await peek(Readable.from([Buffer.from('done')]), 10);
  assert.equal(short.head.toString(), 'done');
  assert.equal(await read(short.body), 'done');
  const empty = await peek(Readable.from([]), 10);
  assert.equal(await read(empty.body), '');
});

test('mask - codings are read in the order applied; transfer codings are decoded before content codings', () => {
  assert.deepEqual(codingsOf('gzip, chunked'), ['gzip']);
  assert.deepEqual(codingsOf(['identity', 'GZIP', ' br ']), ['gzip', 'br']);
  const d = decodingFor({ 'transfer-encoding': 'gzip, chunked', 'content-encoding': 'br' });
  assert.ok('decoders' in d && d.decoders.length === 2);
  for (const x of d.decoders) x.destroy();
  assert.deepEqual(decodingFor({ 'transfer-encoding': 'zstd, chunked', 'content-encoding': 'gzip' }), { unknown: 'zstd', header: 'transfer-encoding' });
  assert.deepEqual(decodingFor({ 'content-encoding': 'gzip, compress' }), { unknown: 'compress', header: 'content-encoding' });
});
