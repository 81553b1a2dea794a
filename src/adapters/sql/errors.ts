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

/** The MikroORM driver package for the database URL's engine is not installed; the message names it. */
export class SqlDriverMissingError extends LockWatchError {
  constructor(message: string, options?: ErrorOptions) {
    super('sql_driver_missing', message, options);
  }
}
