#!/usr/bin/env node
// The `kinto` that npm installs (package.json "bin"; also after `npm link`): runs bin/kinto.ts
// through esbuild-register, as `npm start` does (transpile only; type checking is npm run typecheck).
require('esbuild-register');
require('./kinto.ts');
