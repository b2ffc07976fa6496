/** Errors the store raises on purpose; anything else is a database or driver failure. */
export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The record asked for does not exist. */
export class NotFoundError extends StoreError {
  constructor(readonly entity: string, readonly id: string | number) {
    super(`${entity} ${JSON.stringify(String(id))} does not exist`);
  }
}

/** The write would break a rule the store keeps (one open incident per subject, ...). */
export class ConflictError extends StoreError {}

/**
 * The new incident's id is already another incident's. Ids are the day and four random characters
 * (about a million a day), so a busy day meets one now and then: the caller draws another and tries
 * again (a storm bench day of 580 incidents had about a 15 % chance of one, answered 500 before).
 */
export class IncidentIdTakenError extends ConflictError {}

/** The caller passed something the store will not persist (bad timestamp, wrong type). */
export class StoreInputError extends StoreError {}

/** Stored data no longer matches its recorded hash or size: tampering or corruption. */
export class IntegrityError extends StoreError {}

/**
 * The database has migrations this code does not have: a newer replica migrated it. Nothing was
 * changed; the message (migration names only) is fit for the unauthenticated /readyz.
 */
export class NewerSchemaError extends StoreError {
  constructor(readonly unknownMigrations: string[]) {
    super(`the database has migrations ${unknownMigrations.join(', ')} this build does not know: upgrade this replica`);
  }
}
