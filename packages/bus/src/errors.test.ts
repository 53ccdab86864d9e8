import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BusError, CodedError, toWireError } from './errors.js';

type DemoCode = 'ERR_DEMO_ONE' | 'ERR_DEMO_TWO';
class DemoError extends CodedError<DemoCode> {}

test('CodedError - a subclass keeps its own name, its code, its message and the cause', () => {
  const cause = new Error('root');
  const err = new DemoError('ERR_DEMO_TWO', 'second thing failed', { cause });
  assert.ok(err instanceof DemoError);
  assert.ok(err instanceof CodedError);
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'DemoError');
  assert.equal(err.code, 'ERR_DEMO_TWO');
  assert.equal(err.message, 'second thing failed');
  assert.equal(err.cause, cause);
  assert.match(String(err.stack), /^DemoError: second thing failed/);
});

test('CodedError - BusError is one, and its code crosses the bus through toWireError', () => {
  const err = new BusError('ERR_BUS_TIMEOUT', 'no answer');
  assert.equal(err.name, 'BusError');
  assert.ok(err instanceof CodedError);
  assert.deepEqual(toWireError(err), { code: 'ERR_BUS_TIMEOUT', message: 'no answer' });
  assert.deepEqual(toWireError(new DemoError('ERR_DEMO_ONE', 'first')), { code: 'ERR_DEMO_ONE', message: 'first' });
});
