// Defaults shared by every front door (action.yml descriptions refer to these).

export const DEFAULT_FULCIO_URL = 'https://fulcio.sigstore.dev'
export const DEFAULT_REKOR_URL = 'https://rekor.sigstore.dev'
export const PUBLIC_GOOD_SEARCH_URL = 'https://search.sigstore.dev/?logIndex='
/** Images signed or verified at once. */
export const DEFAULT_CONCURRENCY = 10
/** Per-request timeout and total retry budget for Sigstore and registry calls. */
export const DEFAULT_TIMEOUT_MS = 30_000
export const DEFAULT_RETRY_BUDGET_MS = 120_000
