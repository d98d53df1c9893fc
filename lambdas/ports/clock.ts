/** Time and identity, injected so that the core stays deterministic under test. */
export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  /** A random id (128 bits or more), URL safe. */
  randomId(): string;
  /** An id that sorts by creation time, then randomly: for histories read newest first. */
  timeOrderedId(): string;
}
