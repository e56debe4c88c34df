// Build-time stand-in for `@actions/http-client` (tsconfig.json "paths", which
// ncc follows). @actions/core imports that package at its top level for one
// function, getIDToken, and it in turn imports the whole of undici: about
// 420 KB that every action start compiled and ran, although Sigil requests
// the OIDC token itself (src/sigstore/oidc/providers.ts) and so never calls
// getIDToken. This module keeps @actions/core whole and working: the real
// client is loaded on first use, and each call is forwarded to it.
import type * as Real from '../../../node_modules/@actions/http-client/lib/index.js'

type RealModule = typeof Real
type Args = ConstructorParameters<RealModule['HttpClient']>

let real: Promise<RealModule> | undefined
function load(): Promise<RealModule> {
  real ??= import('../../../node_modules/@actions/http-client/lib/index.js')
  return real
}

/**
 * The client @actions/core constructs (OidcClient.createHttpClient). Every
 * method of the real HttpClient returns a promise, so each one can wait for
 * the real module, then run on one real instance made with the same arguments.
 */
export class HttpClient {
  readonly #args: Args
  #instance: Promise<Real.HttpClient> | undefined

  constructor(...args: Args) {
    this.#args = args
    return new Proxy(this, {
      get: (target, key, receiver) =>
        typeof key === 'symbol' || key in target
          ? Reflect.get(target, key, receiver)
          : (...callArgs: unknown[]) => target.#call(key, callArgs)
    })
  }

  async #call(method: string, args: unknown[]): Promise<unknown> {
    this.#instance ??= load().then(m => new m.HttpClient(...this.#args))
    const client = (await this.#instance) as unknown as Record<
      string,
      (...a: unknown[]) => unknown
    >
    const fn = client[method]
    if (typeof fn !== 'function')
      throw new TypeError(`HttpClient.${method} is not a function`)
    return fn.apply(client, args)
  }
}

export async function getProxyUrl(serverUrl: string): Promise<string> {
  return (await load()).getProxyUrl(serverUrl)
}
