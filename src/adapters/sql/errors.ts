import { LockWatchError } from '../../domain/errors.ts';

/**
 * LockWatch's tables are missing or behind the code: migrations have not
 * been run on this database. The message names the command that fixes it.
 */
export class SqlSchemaError extends LockWatchError {
  constructor(message: string, options?: ErrorOptions) {
    super('sql_schema_missing', message, options);
  }
}
