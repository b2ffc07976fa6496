// Tests run TypeScript directly through tsx; `npm test` type-checks the whole tree first.
process.env.NODE_ENV = process.env.NODE_ENV || 'test';
// The spec list is in package.json's test script, so `npx mocha <file>` runs only that file.
module.exports = {
  // tsx/esm too: sandbox mode loads src/sandbox/ with import(), which goes through the ESM loader.
  require: ['tsx/cjs', 'tsx/esm'],
  extension: ['ts'],
  timeout: 20000,
  exit: true,
};
