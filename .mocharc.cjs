// Tests run TypeScript directly through tsx; `npm test` type-checks the whole tree first.
module.exports = {
  require: ['tsx/cjs'],
  spec: ['test/**/*.test.ts'],
  timeout: 20000,
  exit: true,
  recursive: true,
};
