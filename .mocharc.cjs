// Tests run TypeScript directly through tsx; `npm test` type-checks the whole tree first.
process.env.NODE_ENV = process.env.NODE_ENV || 'test';
// The spec list is in package.json's test script, so `npx mocha <file>` runs only that file.
module.exports = {
  require: ['tsx/cjs'],
  extension: ['ts'],
  timeout: 20000,
  exit: true,
};
