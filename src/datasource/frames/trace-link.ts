/**
 * Internal data links that open a trace in this data source: how Grafana's
 * own tracing sources link search rows and spans to the trace view.
 */
import type { DataLink } from '@grafana/data';
import type { WiretraceQuery } from '../types';

export interface DataSourceRef {
  uid: string;
  name: string;
}

export function traceLink(ds: DataSourceRef): DataLink<WiretraceQuery> {
  return {
    title: 'Open trace',
    url: '',
    internal: {
      datasourceUid: ds.uid,
      datasourceName: ds.name,
      // Grafana replaces ${__value.raw} with the clicked cell's value.
      query: { refId: 'A', queryType: 'trace', traceId: '${__value.raw}' },
    },
  };
}
