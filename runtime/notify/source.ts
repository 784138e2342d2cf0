/** Where notify's handlers find the database. */
import type { Database } from '../store/index.ts';

/** A Database, or how to get the runtime's once it is open (handlers are made before `start()` opens it). */
export type DatabaseSource = Database | (() => Database);

/** Resolves a DatabaseSource. */
export const databaseOf = (db: DatabaseSource): Database => (typeof db === 'function' ? db() : db);
