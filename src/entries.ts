// Every entry point, bundled once into dist/lib by scripts/build.mjs; each
// dist/<entry>/index.js imports one of these and runs it. Adapters load on
// demand (ncc emits them as shared chunks), so the CLI never loads
// @actions/core and an action never loads the CLI.

export async function runSignAction(): Promise<void> {
  const { runSignAction: run } = await import('./actions/sign.ts')
  await run()
}

export async function runVerifyAction(): Promise<void> {
  const { runVerifyAction: run } = await import('./actions/verify.ts')
  await run()
}

export async function runInstallAction(): Promise<void> {
  const { runInstallAction: run } = await import('./actions/install.ts')
  await run()
}

export async function runCli(): Promise<void> {
  const { runCli: run } = await import('./cli/main.ts')
  await run()
}

export async function runConformance(): Promise<void> {
  const { runConformance: run } = await import('./cli/conformance.ts')
  await run()
}

export async function runGitlab(): Promise<void> {
  const { runGitlab: run } = await import('./gitlab/main.ts')
  await run()
}
