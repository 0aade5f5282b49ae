// Lint rules for the Grafana plugin sources (src/) and their build config
// (.config/). The agent and tests are typechecked by tsc and not linted here.
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'backend-agent/**', 'bpf/**', 'demo/**', 'test/**', 'scripts/**'] },
  {
    files: ['src/**/*.{ts,tsx}', '.config/**/*.ts'],
    extends: [tseslint.configs.recommended],
    plugins: { 'react-hooks': reactHooks },
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-console': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
);
