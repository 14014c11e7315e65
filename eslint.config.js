// @ts-check
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

/** The core must run unchanged in a browser: no Node built-ins, no DI, no adapters. */
const browserSafe = {
  patterns: [
    { group: ['node:*'], message: 'src/ runs in browsers: no Node built-ins (use an adapter).' },
    {
      group: ['../adapters/*', '../../adapters/*'],
      message: 'Dependencies point one way: adapters import src, never the reverse.'
    }
  ],
  paths: [
    'ws',
    'tsyringe',
    'reflect-metadata',
    'fs',
    'net',
    'os',
    'path',
    'worker_threads',
    'child_process',
    'events'
  ].map((name) => ({
    name,
    message: 'src/ runs in browsers: keep Node-only and DI code in adapters/.'
  }))
};

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'docs/api/', 'node_modules/', 'test-artifacts/'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname
      }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/it return promises the runner itself awaits.
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: [
                'describe',
                'it',
                'test',
                'suite',
                'before',
                'after',
                'beforeEach',
                'afterEach'
              ]
            }
          ]
        }
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }]
    }
  },
  { files: ['src/**/*.ts'], rules: { 'no-restricted-imports': ['error', browserSafe] } },
  { files: ['adapters/browser.ts'], rules: { 'no-restricted-imports': ['error', browserSafe] } },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off'
    }
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
  prettier
);
