import assert from 'node:assert/strict';
import { isConnectionError } from '../../src/store/dialect';

describe('isConnectionError: what counts as "the store is unreachable" (503, send again)', () => {
  it('knows PostgreSQL shutdown codes, socket codes and pg\'s own messages', () => {
    assert.equal(isConnectionError(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })), true);
    assert.equal(isConnectionError(Object.assign(new Error('the database system is shutting down'), { code: '57P03' })), true);
    assert.equal(isConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isConnectionError(new Error('Client has encountered a connection error and is not queryable')), true);
  });
  it('sees through a wrapping error\'s cause and an AggregateError\'s attempts', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' });
    assert.equal(isConnectionError(new Error('store write failed', { cause: refused })), true);
    assert.equal(isConnectionError(new AggregateError([refused, refused], '')), true);
  });
  it('does not take a refused statement or a constraint violation for a lost connection', () => {
    assert.equal(isConnectionError(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' })), false);
    assert.equal(isConnectionError(new Error('syntax error', { cause: new Error('near "x"') })), false);
    assert.equal(isConnectionError(undefined), false);
    // a cycle of causes ends
    const a: Error & { cause?: unknown } = new Error('a');
    a.cause = a;
    assert.equal(isConnectionError(a), false);
  });
});
