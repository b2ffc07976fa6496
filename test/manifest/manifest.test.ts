import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import JSZip from 'jszip';
import { AppManifestUtils } from '@microsoft/app-manifest';
import {
  MANIFEST_DIR,
  ManifestConfigError,
  SANDBOX_BOT_ID,
  buildManifest,
  fillTemplate,
  packageApp,
} from '../../scripts/package-manifest';
import { decodeSimplePng, renderColorIcon, renderOutlineIcon } from '../../scripts/manifest-icons';

function localSchemaFor(manifest: Record<string, unknown>): Promise<Record<string, unknown>> {
  // The schema the manifest names, from the copy bundled in @microsoft/app-manifest (no network).
  const m = /\/json-schemas\/teams\/(v[\d.]+)\/MicrosoftTeams\.schema\.json$/.exec(String(manifest.$schema));
  assert.ok(m, `unexpected $schema ${String(manifest.$schema)}`);
  const file = require.resolve(`@microsoft/app-manifest/build/json-schemas/teams/${m[1]}/MicrosoftTeams.schema.json`);
  return readFile(file, 'utf8').then((t) => JSON.parse(t) as Record<string, unknown>);
}

/** Width and height straight from the IHDR chunk. */
function pngSize(buf: Buffer): { width: number; height: number } {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(buf.toString('ascii', 12, 16), 'IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

describe('Teams app manifest', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'manifest-test-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('validates against the newest bundled Teams schema it names, with the sandbox defaults', async () => {
    const manifest = await buildManifest({});
    assert.equal(manifest.manifestVersion, '1.30');
    const schema = await localSchemaFor(manifest);
    const errors = await AppManifestUtils.validateAgainstSchema(manifest as never, schema as never);
    assert.deepEqual(errors, []);
    const bot = (manifest.bots as Array<{ botId: string; scopes: string[]; commandLists: Array<{ commands: Array<{ title: string }> }> }>)[0];
    assert.equal(bot.botId, SANDBOX_BOT_ID);
    assert.ok(bot.scopes.includes('team'));
    const titles = bot.commandLists.flatMap((l) => l.commands.map((c) => c.title));
    for (const t of ['release', 'status', 'incidents', 'contain', 'approve', 'reject', 'retry', 'cancel', 'report', 'verify', 'handoff', 'close']) {
      assert.ok(titles.includes(t), `command ${t}`);
    }
  });

  it('takes the bot id from MicrosoftAppId and rejects values that are not what they claim', async () => {
    const id = '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0';
    const m = await buildManifest({ MicrosoftAppId: id, BOT_DOMAIN: 'ir-bot.azurewebsites.net' });
    assert.equal((m.bots as Array<{ botId: string }>)[0].botId, id);
    assert.deepEqual(m.validDomains, ['ir-bot.azurewebsites.net']);
    await assert.rejects(buildManifest({ MicrosoftAppId: 'not-a-guid' }), /MicrosoftAppId must be a GUID/);
    await assert.rejects(buildManifest({ BOT_DOMAIN: 'evil.com", "x": "' }), ManifestConfigError);
    await assert.rejects(buildManifest({ PRIVACY_URL: 'http://plain.example' }), /PRIVACY_URL must be an https URL/);
  });

  it('fills placeholders JSON-safely and refuses unknown ones', () => {
    assert.equal(fillTemplate('{"a":"${{X}}"}', { X: 'q"uote' }), '{"a":"q\\"uote"}');
    assert.throws(() => fillTemplate('{"a":"${{NOPE}}"}', {}), /NOPE/);
  });

  it('ships a 192x192 opaque color icon and a 32x32 white-on-transparent outline icon', async () => {
    const color = await readFile(path.join(MANIFEST_DIR, 'color.png'));
    const outline = await readFile(path.join(MANIFEST_DIR, 'outline.png'));
    assert.deepEqual(pngSize(color), { width: 192, height: 192 });
    assert.deepEqual(pngSize(outline), { width: 32, height: 32 });

    const o = decodeSimplePng(outline);
    let opaque = 0;
    let clear = 0;
    for (let i = 0; i < o.rgba.length; i += 4) {
      assert.deepEqual([o.rgba[i], o.rgba[i + 1], o.rgba[i + 2]], [255, 255, 255], 'outline pixels are white');
      if (o.rgba[i + 3] === 255) opaque++;
      if (o.rgba[i + 3] === 0) clear++;
    }
    assert.ok(opaque > 20 && clear > 500, `a glyph on transparency (opaque ${opaque}, clear ${clear})`);

    const c = decodeSimplePng(color);
    for (let i = 3; i < c.rgba.length; i += 4) assert.equal(c.rgba[i], 255, 'color icon is opaque');
    // The committed icons are the renderer's output (regenerate with `tsx scripts/manifest-icons.ts`).
    assert.deepEqual(decodeSimplePng(renderColorIcon()).rgba, c.rgba);
    assert.deepEqual(decodeSimplePng(renderOutlineIcon()).rgba, o.rgba);
  });

  it('packages exactly manifest.json and the two icons at the zip root', async () => {
    const outFile = path.join(dir, 'app.zip');
    const { manifest } = await packageApp({ outFile, env: {} });
    const zip = await JSZip.loadAsync(await readFile(outFile));
    const names = Object.values(zip.files).filter((f) => !f.dir).map((f) => f.name).sort();
    assert.deepEqual(names, ['color.png', 'manifest.json', 'outline.png']);
    const inZip = JSON.parse(await zip.file('manifest.json')!.async('string'));
    assert.deepEqual(inZip, manifest);
    assert.ok(!JSON.stringify(inZip).includes('${{'), 'no placeholder left');
    const color = await zip.file('color.png')!.async('nodebuffer');
    assert.ok(color.equals(await readFile(path.join(MANIFEST_DIR, 'color.png'))));
  });
});
