/**
 * How a contract suite gets stores of one implementation. Nothing in a suite knows how a store keeps its
 * data, so a new engine runs the same suite with its own harness.
 */
export interface StoreHarness<T> {
  /** A new, empty store. */
  create(): Promise<T>
  /** A new store over the data of the store create() returned last (for a file: the same path). */
  reopen?(): Promise<T>
  /** Releases whatever the harness holds (folders, databases), once the suite is done. */
  close?(): Promise<void>
}
