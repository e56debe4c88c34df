// Errors of the signature storage layouts (legacy tag and bundle referrers).
import { AppError } from '../../util/index.ts'

export class StorageError extends AppError {}
