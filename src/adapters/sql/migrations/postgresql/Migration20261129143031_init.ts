import { Migration } from '@mikro-orm/migrations';

export class Migration20261129143031_init extends Migration {
  override name = 'Migration20261129143031_init';

  override up(): void | Promise<void> {
    // `if not exists`: an application that lists lockwatchEntities in its own MikroORM may have
    // created these tables with its schema tooling (orm.schema.update()) before LockWatch migrates.
    this.addSql(
      `create table if not exists "lockwatch_audit_log" ("id" uuid not null, "timestamp" bigint not null, "request_id" text null, "user_id" text null, "ip" text not null, "endpoint" text not null, "method" text not null, "status_code" smallint not null, "rate_limit_hit" boolean not null, "anomaly_detected" boolean not null, "latency_ms" double precision not null, primary key ("id"));`,
    );
    this.addSql(
      `create index if not exists "lockwatch_audit_log_ip_time_idx" on "lockwatch_audit_log" ("ip", "timestamp", "id");`,
    );
    this.addSql(
      `create index if not exists "lockwatch_audit_log_user_time_idx" on "lockwatch_audit_log" ("user_id", "timestamp", "id");`,
    );
    this.addSql(
      `create index if not exists "lockwatch_audit_log_time_idx" on "lockwatch_audit_log" ("timestamp", "id");`,
    );
    this.addSql(
      `create index if not exists "lockwatch_audit_log_rate_limit_idx" on "lockwatch_audit_log" ("timestamp", "id") where "rate_limit_hit" = true;`,
    );
    this.addSql(
      `create index if not exists "lockwatch_audit_log_anomaly_idx" on "lockwatch_audit_log" ("timestamp", "id") where "anomaly_detected" = true;`,
    );

    this.addSql(
      `create table if not exists "lockwatch_window_state" ("key" varchar(64) not null, "states" text not null, "expires_at" bigint not null, primary key ("key"));`,
    );
    this.addSql(
      `create index if not exists "lockwatch_window_state_expires_idx" on "lockwatch_window_state" ("expires_at");`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "lockwatch_audit_log" cascade;`);
    this.addSql(`drop table if exists "lockwatch_window_state" cascade;`);
  }
}
