// The release version; a unit test keeps it equal to package.json's.
export const SIGIL_VERSION = '0.1.0'
