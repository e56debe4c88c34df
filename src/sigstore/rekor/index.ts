// Rekor v1: the transparency-log client, proposed entry builders, and the
// conversions to/from bundle entries and cosign's legacy Rekor bundle.

export {
  DEFAULT_REKOR_URL,
  RekorClient,
  type RekorClientOptions,
  type RekorEntry
} from './client.ts'
export {
  buildDsseEntry,
  buildHashedRekordEntry,
  type DsseEntry,
  type DsseEntryInput,
  type HashedRekordEntry,
  type HashedRekordInput
} from './entry.ts'
export {
  checkV1LogEntry,
  fromRekorV1Bundle,
  kindVersionOf,
  toRekorV1Bundle,
  toTransparencyLogEntry,
  type RekorV1Bundle,
  type RekorV1LogEntry
} from './convert.ts'
export {
  REKOR_V2_ENTRIES_PATH,
  RekorV2Client,
  buildDsseRequestV002,
  buildHashedRekordRequestV002,
  publicKeyDetails,
  type DsseRequestV002,
  type HashedRekordRequestV002,
  type RekorV2ClientOptions,
  type RekorV2Request,
  type RekorV2Verifier,
  type RekorV2VerifierInput
} from './v2.ts'
