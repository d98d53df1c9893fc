/**
 * The platform's own key material, from which the core derives the token signing key, the key
 * that hashes client secrets, and the keys of environments' internal entries. Locally it is a file
 * in KINTO_HOME (mode 0600); on AWS a Secrets Manager secret.
 */
export interface PlatformKeys {
  /** At least 32 bytes of secret, high-entropy material; the same bytes on every call. */
  material(): Promise<Uint8Array>;
}
