import assert from 'node:assert/strict';
import { CRASH_PAUSE_POINTS } from '../../src/connectors/types';
import { crashPauseFromEnv, HOLDING } from '../../src/sandbox/crash-pause-points';

/** The crash tests' hold points: honoured in a sandbox under test, refused everywhere else. */
describe('crash pause points (IR_CRASH_PAUSE)', () => {
  const warned: string[] = [];
  const log = { warn: (_o: unknown, msg?: string) => { warned.push(String(msg)); } } as never;
  beforeEach(() => { warned.length = 0; });

  it('is absent when IR_CRASH_PAUSE is unset, whatever the mode', () => {
    assert.equal(crashPauseFromEnv({ IR_MODE: 'production', NODE_ENV: 'production' }, log), undefined);
    assert.equal(crashPauseFromEnv({ IR_MODE: 'sandbox', NODE_ENV: 'test' }, log), undefined);
    assert.deepEqual(warned, []);
  });

  it('refuses to start outside a sandbox under test, naming the variable and what it found', () => {
    const point = 'identity.contain:after-ad-disable';
    for (const [mode, nodeEnv] of [['sandbox', undefined], ['sandbox', 'production'], ['sandbox', 'development'], ['production', 'test'], [undefined, 'test']] as const) {
      assert.throws(() => crashPauseFromEnv({ IR_CRASH_PAUSE: point, IR_MODE: mode, NODE_ENV: nodeEnv }, log), (e: Error) => {
        assert.equal(e.name, 'ConfigError');
        assert.match(e.message, /^IR_CRASH_PAUSE is a crash-test hook: it works only with IR_MODE=sandbox and NODE_ENV=test/);
        assert.ok(e.message.includes(`IR_MODE=${mode ?? 'unset'}, NODE_ENV=${nodeEnv ?? 'unset'}`), e.message);
        return true;
      });
    }
    assert.deepEqual(warned, [], 'nothing announced a hold');
  });

  it('refuses a point no action passes, listing the real ones', () => {
    assert.throws(() => crashPauseFromEnv({ IR_CRASH_PAUSE: 'identity.contain:after-everything', IR_MODE: 'sandbox', NODE_ENV: 'test' }, log),
      new RegExp(`is not a pause point; the points are: ${CRASH_PAUSE_POINTS.join(', ')}$`));
  });

  it('in a sandbox under test: passes every other point at once and holds at the named one, saying so', async () => {
    const pause = crashPauseFromEnv({ IR_CRASH_PAUSE: 'identity.contain:after-ad-reset', IR_MODE: 'sandbox', NODE_ENV: 'test' }, log)!;
    assert.ok(pause);
    await pause.at('identity.contain:after-ad-disable');
    assert.ok(!warned.some((w) => w.startsWith(HOLDING)), 'no hold at another point');
    const held = await Promise.race([
      pause.at('identity.contain:after-ad-reset').then(() => 'returned'),
      new Promise((r) => setTimeout(() => r('still holding'), 200)),
    ]);
    assert.equal(held, 'still holding');
    assert.ok(warned.includes(`${HOLDING} at identity.contain:after-ad-reset`), JSON.stringify(warned));
  });
});
