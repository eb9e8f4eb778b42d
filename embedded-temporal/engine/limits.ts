/** Temporal's size limits (srv dynamic config defaults), enforced before anything is written. */
import { invalidArgument } from '../errors';
import { messageCodec, type IMemo, type IPayloads } from '../proto';

export interface Limits {
  /** Largest payload blob (input, result, details, failure), like srv `limit.blobSize.error`. */
  blobSizeLimit: number;
  /** Largest memo, like srv `limit.memoSize.error`. */
  memoSizeLimit: number;
  historySizeLimit: number;
  historyCountLimit: number;
  /** Thresholds at which WorkflowTaskStarted suggests continue-as-new. */
  historySizeSuggestContinueAsNew: number;
  historyCountSuggestContinueAsNew: number;
  maxIdLength: number;
}

export const DEFAULT_LIMITS: Limits = {
  blobSizeLimit: 2 * 1024 * 1024,
  memoSizeLimit: 2 * 1024 * 1024,
  historySizeLimit: 50 * 1024 * 1024,
  historyCountLimit: 51_200,
  historySizeSuggestContinueAsNew: 4 * 1024 * 1024,
  historyCountSuggestContinueAsNew: 4 * 1024,
  maxIdLength: 1000,
};

const PayloadsCodec = messageCodec<IPayloads>('temporal.api.common.v1.Payloads');
const MemoCodec = messageCodec<IMemo>('temporal.api.common.v1.Memo');

export function payloadsSize(p: IPayloads | null | undefined): number {
  return p ? PayloadsCodec.encode(p).length : 0;
}

/** Throws INVALID_ARGUMENT when a caller's payloads are over the blob limit. */
export function checkBlob(limits: Limits, p: IPayloads | null | undefined, what: string): void {
  const size = payloadsSize(p);
  if (size > limits.blobSizeLimit) {
    throw invalidArgument(
      `${what} size ${size} bytes exceeds the limit of ${limits.blobSizeLimit} bytes (BlobSizeLimit).`,
    );
  }
}

export function checkMemo(limits: Limits, memo: IMemo | null | undefined): void {
  const size = memo ? MemoCodec.encode(memo).length : 0;
  if (size > limits.memoSizeLimit) {
    throw invalidArgument(`Memo size ${size} bytes exceeds the limit of ${limits.memoSizeLimit} bytes.`);
  }
}

/** The blob-limit message for payloads over the limit, or undefined. */
export function checkBlobProblem(limits: Limits, p: IPayloads | null | undefined, what: string): string | undefined {
  const size = payloadsSize(p);
  return size > limits.blobSizeLimit
    ? `${what} size ${size} bytes exceeds the limit of ${limits.blobSizeLimit} bytes (BlobSizeLimit).`
    : undefined;
}

/** The memo-limit message for a memo over the limit, or undefined. */
export function memoProblem(limits: Limits, memo: IMemo | null | undefined): string | undefined {
  const size = memo ? MemoCodec.encode(memo).length : 0;
  return size > limits.memoSizeLimit
    ? `Memo size ${size} bytes exceeds the limit of ${limits.memoSizeLimit} bytes.`
    : undefined;
}
