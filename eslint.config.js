// eslint-config-oclif, with prettier doing the formatting (eslint-config-prettier turns the
// formatting rules off). What is switched off below is switched off for the reason beside it.
import oclif from 'eslint-config-oclif'
import prettier from 'eslint-config-prettier'

export default [
  {ignores: ['dist/', 'node_modules/', 'coverage/', 'bench/out/', '.scratch/', 'oclif.manifest.json']},
  ...oclif,
  prettier,
  {
    rules: {
      // Key and member order follows the documents and wire formats custos reads and writes (a
      // plan header, a certificate, a List Blobs entry) and the order a reader needs, not the alphabet.
      'perfectionist/sort-array-includes': 'off',
      'perfectionist/sort-classes': 'off',
      'perfectionist/sort-exports': 'off',
      'perfectionist/sort-imports': 'off',
      'perfectionist/sort-interfaces': 'off',
      'perfectionist/sort-named-exports': 'off',
      'perfectionist/sort-named-imports': 'off',
      'perfectionist/sort-object-types': 'off',
      'perfectionist/sort-objects': 'off',
      'perfectionist/sort-sets': 'off',
      'perfectionist/sort-switch-case': 'off',
      'perfectionist/sort-union-types': 'off',
      'perfectionist/sort-variable-declarations': 'off',
    },
  },
]
