import type { Deletion } from '../api/types';
import { print } from './print';
import { table } from './table';

type DataFolder = Deletion['keptData'][number];

/** What a deletion did with custom services' data, as the API answers it. */
export type DataOutcomeView = Pick<Deletion, 'keptData' | 'deletedData'>;

/** Names the data a deletion kept or deleted (nothing when there was none). */
export function printDataOutcome(outcome: DataOutcomeView | undefined, what: string): void {
  if (!outcome) return;
  const rows = (items: readonly DataFolder[]) =>
    table(
      ['ENVIRONMENT', 'ENVIRONMENT ID', 'BLOCK', 'WHERE'],
      items.map((d) => [d.environment, d.environmentId, d.block, d.location]),
    );
  if (outcome.keptData.length) {
    print(
      `The data of ${what}'s custom services is kept where it is: copy what you need; kinto data delete <environment id> deletes it later (kinto data lists it).`,
    );
    print(rows(outcome.keptData));
  }
  if (outcome.deletedData.length) {
    print(`Deleted with it, as --delete-data asked, the data of ${what}'s custom services:`);
    print(rows(outcome.deletedData));
  }
}
