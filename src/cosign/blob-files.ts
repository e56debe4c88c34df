// Files in and out of the blob use cases, shared by every front door:
// `subject-path` patterns (globs) → the files to sign, and the bundles (and
// cosign's --output-signature / --output-certificate) written whole, only
// after everything was signed and self-checked.
import type { ChosenServices } from './services.ts'
import * as fsp from 'node:fs/promises'
import { InputError } from '../util/index.ts'
import {
  signBlobs,
  type BlobInput,
  type SignBlobsDeps,
  type SignBlobsResult
} from './sign-blob.ts'
import type { InputNaming, PredicateInputs, SignInputs } from './inputs.ts'
import type { TrustMaterial } from '../sigstore/index.ts'

const GLOB = /[*?[\]{}]/

/**
 * Expands patterns (one per line or comma-separated, already split) into
 * file paths, in order, without duplicates. A pattern that matches nothing
 * is an error: a release that forgot to build a file must not pass.
 */
export async function expandSubjectPaths(
  patterns: readonly string[],
  naming: InputNaming,
  input = 'subject-path'
): Promise<string[]> {
  const out: string[] = []
  for (const p of patterns) {
    if (!GLOB.test(p)) {
      out.push(p)
      continue
    }
    const matches: string[] = []
    // fs.promises.glob: Node 22+ (the actions run on Node 24).
    if (typeof fsp.glob !== 'function') {
      throw new InputError(
        'INPUT_GLOB_UNSUPPORTED',
        `${naming.name(input)} has the pattern ${JSON.stringify(p)}, and this Node.js (${process.versions.node}) cannot expand patterns; use Node.js 22 or later, or list the files`
      )
    }
    for await (const m of fsp.glob(p)) matches.push(m)
    if (matches.length === 0) {
      throw new InputError(
        'INPUT_NO_MATCHING_FILES',
        `${naming.name(input)}: no file matches ${JSON.stringify(p)}`
      )
    }
    out.push(...matches.sort())
  }
  return [...new Set(out)]
}

export async function readBlobFiles(
  paths: readonly string[]
): Promise<BlobInput[]> {
  return Promise.all(
    paths.map(async p => {
      try {
        return { name: p, bytes: new Uint8Array(await fsp.readFile(p)) }
      } catch (e) {
        throw new InputError(
          'INPUT_FILE_UNREADABLE',
          `cannot read ${JSON.stringify(p)}: ${e instanceof Error ? e.message : String(e)}`,
          { cause: e }
        )
      }
    })
  )
}

/** Writes a file whole or not at all (a temporary name, then rename). */
async function writeWhole(path: string, data: string): Promise<void> {
  const tmp = `${path}.sigil-${process.pid}.tmp`
  await fsp.writeFile(tmp, data)
  await fsp.rename(tmp, path)
}

export interface BlobOutputPaths {
  /** The bundle of one file, or the attestation bundle. */
  bundle?: string
  signature?: string
  certificate?: string
}

export interface WrittenBlobOutputs {
  bundles: {
    file: string
    bundle: string
    digest?: string
    logIndex?: number
  }[]
  signature?: string
  certificate?: string
  identity?: { subject: string; issuer: string }
}

/**
 * Writes what signBlobs returned: each file's bundle at FILE.sigstore.json
 * (or `paths.bundle` for one file), the attestation bundle at `paths.bundle`
 * or FILE.intoto.sigstore.json, and the signature and certificate files
 * asked for.
 */
export async function writeBlobOutputs(
  r: SignBlobsResult,
  files: readonly string[],
  paths: BlobOutputPaths
): Promise<WrittenBlobOutputs> {
  const out: WrittenBlobOutputs = {
    bundles: [],
    ...(r.identity ? { identity: r.identity } : {})
  }
  if (paths.certificate && !r.certificatePem) {
    throw new InputError(
      'INPUT_CONFLICT',
      'output-certificate: a key pair signs without a certificate; nothing was written'
    )
  }
  if (r.attestation) {
    const path = paths.bundle ?? `${files[0] ?? ''}.intoto.sigstore.json`
    await writeWhole(path, `${JSON.stringify(r.attestation.bundle)}\n`)
    out.bundles.push({
      file: files.join(','),
      bundle: path,
      ...(r.attestation.logIndex !== undefined
        ? { logIndex: r.attestation.logIndex }
        : {})
    })
    if (paths.signature) {
      await writeWhole(paths.signature, r.attestation.signature)
      out.signature = paths.signature
    }
  }
  for (const b of r.blobs) {
    const path = paths.bundle ?? `${b.name}.sigstore.json`
    await writeWhole(path, `${JSON.stringify(b.bundle)}\n`)
    out.bundles.push({
      file: b.name,
      bundle: path,
      digest: b.digest,
      ...(b.logIndex !== undefined ? { logIndex: b.logIndex } : {})
    })
    if (paths.signature) {
      await writeWhole(paths.signature, b.signature)
      out.signature = paths.signature
    }
  }
  if (paths.certificate && r.certificatePem) {
    await writeWhole(paths.certificate, r.certificatePem)
    out.certificate = paths.certificate
  }
  return out
}

/**
 * sign-blob / attest-blob for every front door: read the files, sign them
 * (or attest them with `attestation`), then write the outputs.
 */
export async function signBlobFiles(
  o: {
    files: readonly string[]
    inputs: SignInputs
    attestation?: PredicateInputs
    trust: TrustMaterial | Promise<TrustMaterial>
    /** The services chosen from the signing config (runtime.ts). */
    services?: Promise<ChosenServices | undefined>
    paths: BlobOutputPaths
  },
  deps: SignBlobsDeps
): Promise<{ result: SignBlobsResult; written: WrittenBlobOutputs }> {
  const blobs = await readBlobFiles(o.files)
  const chosen = await o.services
  const s = { ...o.inputs.options, ...chosen }
  const result = await signBlobs(
    {
      blobs,
      ...(o.attestation ? { attestation: o.attestation } : {}),
      tlogUpload: s.tlogUpload,
      ...(s.key ? { key: s.key } : {}),
      fulcioUrl: s.fulcioUrl,
      rekorUrl: s.rekorUrl,
      ...('rekorApiVersion' in s && s.rekorApiVersion
        ? { rekorApiVersion: s.rekorApiVersion }
        : {}),
      ...(s.timestampServerUrl
        ? { timestampServerUrl: s.timestampServerUrl }
        : {}),
      trust: o.trust,
      concurrency: s.concurrency
    },
    deps
  )
  const written = await writeBlobOutputs(result, o.files, o.paths)
  return { result, written }
}
