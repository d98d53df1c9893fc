declare module 'dynalite' {
  import type { Server } from 'node:net';

  interface DynaliteOptions {
    /** LevelDB folder; omitted = in memory. */
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    ssl?: boolean;
  }

  function dynalite(options?: DynaliteOptions): Server;
  export = dynalite;
}
