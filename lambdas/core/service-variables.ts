/**
 * Where a custom service is for the other blocks of its environment: `KINTO_BLOCK_<NAME>_HOST`
 * and `KINTO_BLOCK_<NAME>_PORT` (`cache-db` -> `KINTO_BLOCK_CACHE_DB_HOST`). A service speaks any
 * TCP protocol, so it gets no `_URL`: a client that speaks HTTP to it builds `http://$HOST:$PORT`.
 */
export const serviceHostVariable = (blockName: string): string => `${prefixOf(blockName)}_HOST`;
export const servicePortVariable = (blockName: string): string => `${prefixOf(blockName)}_PORT`;

/** The folder a custom service keeps its data in (per environment and block). */
export const DATA_DIR_VARIABLE = 'KINTO_DATA_DIR';

const prefixOf = (blockName: string): string => `KINTO_BLOCK_${blockName.toUpperCase().replace(/-/g, '_')}`;
