// `npm run build`, second half: what the compiled code reads at run time besides JavaScript.
// Every non-TypeScript file under src/ (procedure YAML, the example shifts) goes to the same place
// under dist/src/, because the code finds them relative to __dirname; cards/ goes to dist/cards/
// (src/bot/card-templates.ts looks for the nearest cards/ folder above it), so dist/ is complete.
// Plain Node (no tsx): it runs where only the production dependencies may be installed.
const { cpSync, readdirSync, statSync, mkdirSync, copyFileSync } = require('node:fs');
const { join, dirname } = require('node:path');

const root = join(__dirname, '..');
const out = join(root, 'dist');

function copyNonTs(from, to) {
  for (const name of readdirSync(from)) {
    const src = join(from, name);
    if (statSync(src).isDirectory()) copyNonTs(src, join(to, name));
    else if (!name.endsWith('.ts')) {
      mkdirSync(dirname(join(to, name)), { recursive: true });
      copyFileSync(src, join(to, name));
    }
  }
}

copyNonTs(join(root, 'src'), join(out, 'src'));
cpSync(join(root, 'cards'), join(out, 'cards'), { recursive: true });
