import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.gitlab-ci-local/**',
      'coverage/**'
    ]
  },
  ...tseslint.configs.recommendedTypeChecked.map(c => ({
    ...c,
    files: ['**/*.ts']
  })),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname
      }
    },
    rules: {
      eqeqeq: ['error', 'smart'],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/explicit-module-boundary-types': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }
      ],
      // False positives on URL and undici types; String(unknown) is deliberate in error text.
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off'
    }
  },
  {
    files: ['__tests__/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/only-throw-error': 'off',
      '@typescript-eslint/no-misused-promises': 'off'
    }
  },
  // Layering (docs/ARCHITECTURE.md): each runtime package has one owner folder,
  // oci/ and sigstore/ never import each other, the verifier does no I/O.
  ...layer('src/**/*.ts', [], ['@actions/*', 'undici', '@noble/*']),
  ...layer('src/actions/**/*.ts', ['@actions/*'], ['undici', '@noble/*']),
  ...layer('src/http/**/*.ts', [], ['@actions/*', 'undici', '@noble/*']),
  ...layer('src/crypto/**/*.ts', ['@noble/*'], ['@actions/*', 'undici']),
  ...layer(
    'src/oci/**/*.ts',
    [],
    ['@actions/*', 'undici', '@noble/*', '**/sigstore/**', '**/cosign/**']
  ),
  ...layer(
    'src/sigstore/**/*.ts',
    [],
    ['@actions/*', 'undici', '@noble/*', '**/oci/**', '**/cosign/**']
  ),
  ...layer(
    'src/sigstore/verify/**/*.ts',
    [],
    [
      '@actions/*',
      'undici',
      '@noble/*',
      '**/oci/**',
      '**/cosign/**',
      '**/http/**',
      'node:fs',
      'node:fs/promises',
      'node:net',
      'node:http',
      'node:https'
    ]
  )
)

function layer(files, _allowed, banned) {
  return [
    {
      files: [files],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: banned.map(group => ({
              group: [group],
              message: `not allowed in ${files} (see docs/ARCHITECTURE.md)`
            }))
          }
        ]
      }
    }
  ]
}
