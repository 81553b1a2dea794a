import { LockWatchError } from '../../domain/errors.ts';

/**
 * LockWatch's tables are missing or behind the code (migrations have not
 * been run on this database); the message names the command that fixes it.
 * Its subclass {@link SqlSchemaMismatchError} is a table of another shape.
 */
export class SqlSchemaError extends LockWatchError {
  constructor(message: string, options?: ErrorOptions, code = 'sql_schema_missing') {
    super(code, message, options);
  }
}

/**
 * A table of LockWatch's name exists with another shape (missing or
 * narrower columns, another primary key): another program's table, which
 * LockWatch neither adopts nor drops. The message names the table and the fix.
 */
export class SqlSchemaMismatchError extends SqlSchemaError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options, 'sql_schema_mismatch');
  }
}

/** The MikroORM driver package for the database URL's engine is not installed; the message names it. */
export class SqlDriverMissingError extends LockWatchError {
  constructor(message: string, options?: ErrorOptions) {
    super('sql_driver_missing', message, options);
  }
}
