// Public surface of the DER reader (see der.ts).
export {
  Asn1Error,
  DerNode,
  TAG,
  decodeBitString,
  decodeBoolean,
  decodeInteger,
  decodeOid,
  decodeString,
  decodeTime,
  encodeLength,
  encodeOid,
  encodeTlv,
  parseDer,
  readElement
} from './der.ts'
