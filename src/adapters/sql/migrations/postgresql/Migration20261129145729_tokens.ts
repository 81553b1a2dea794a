import { Migration } from '@mikro-orm/migrations';

export class Migration20261129145729_tokens extends Migration {
  override name = 'Migration20261129145729_tokens';

  override up(): void | Promise<void> {
    // `if not exists`: an application that lists lockwatchEntities in its own MikroORM may have
    // created these tables with its schema tooling (orm.schema.update()) before LockWatch migrates.
    this.addSql(
      `create table if not exists "lockwatch_sessions" ("user_id" text not null, "id" text not null, "family_hash" text not null, "refresh_hash" text not null, "previous_hash" text null, "rotated_at" bigint null, "generation" int not null, "created_at" bigint not null, "last_used_at" bigint not null, "expires_at" bigint not null, "ip" text null, "user_agent" text null, "last_ip" text null, "data" text null, "reused_at" bigint null, primary key ("user_id", "id"));`,
    );
    this.addSql(
      `create index if not exists "lockwatch_sessions_expires_idx" on "lockwatch_sessions" ("expires_at");`,
    );

    this.addSql(
      `create table if not exists "lockwatch_token_marks" ("user_id" text not null, "kind" text not null, "id" text not null, "expires_at" bigint not null, primary key ("user_id", "kind", "id"));`,
    );
    this.addSql(
      `create index if not exists "lockwatch_token_marks_expires_idx" on "lockwatch_token_marks" ("expires_at");`,
    );

    this.addSql(
      `create table if not exists "lockwatch_user_cutoffs" ("user_id" text not null, "cutoff_at" bigint not null, "expires_at" bigint not null, primary key ("user_id"));`,
    );
    this.addSql(
      `create index if not exists "lockwatch_user_cutoffs_expires_idx" on "lockwatch_user_cutoffs" ("expires_at");`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "lockwatch_sessions" cascade;`);
    this.addSql(`drop table if exists "lockwatch_token_marks" cascade;`);
    this.addSql(`drop table if exists "lockwatch_user_cutoffs" cascade;`);
  }
}
