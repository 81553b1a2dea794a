import type { AuditPage, AuditRecord } from '../../../ports/audit.ts';

const headers = ['time', 'ip', 'user', 'method', 'endpoint', 'status', 'ms', 'flags', 'id'];

function flags(record: AuditRecord): string {
  return [record.rateLimitHit ? 'rate-limited' : '', record.anomalyDetected ? 'anomaly' : '']
    .filter(Boolean)
    .join(',');
}

function cells(record: AuditRecord): string[] {
  return [
    new Date(record.timestamp).toISOString(),
    record.ip,
    record.userId ?? '-',
    record.method,
    record.endpoint.length > 60 ? `${record.endpoint.slice(0, 59)}…` : record.endpoint,
    String(record.statusCode),
    String(Math.round(record.latencyMs * 10) / 10),
    flags(record) || '-',
    record.id,
  ].map(printable);
}

/** The cell with control characters (a terminal escape in a logged path, say) shown as `?`. */
function printable(cell: string): string {
  let out = '';
  for (const char of cell) {
    const code = char.codePointAt(0)!;
    out += code < 0x20 || code === 0x7f ? '?' : char;
  }
  return out;
}

/** A page as an aligned text table, with a line telling how to get the next page. */
export function formatTable(page: AuditPage): string {
  const rows = [headers, ...page.records.map(cells)];
  const widths = headers.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const lines = rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd(),
  );
  const footer = [`${page.records.length} record(s)`];
  if (page.total !== undefined) footer.push(`${page.total} matching in all`);
  if (page.nextCursor !== undefined) footer.push(`next page: --cursor ${page.nextCursor}`);
  return `${lines.join('\n')}\n${footer.join('; ')}\n`;
}

/** A page as JSON: `{ records, nextCursor?, total? }`. */
export function formatJson(page: AuditPage): string {
  return `${JSON.stringify(page)}\n`;
}
