// Every entry point, bundled once into dist/lib by scripts/build.mjs; each
// dist/<entry>/index.js imports one of these and runs it.
export { runSignAction } from './actions/sign.ts'
export { runVerifyAction } from './actions/verify.ts'
export { runCli } from './cli/main.ts'
export { runConformance } from './cli/conformance.ts'
export { runGitlab } from './gitlab/main.ts'
