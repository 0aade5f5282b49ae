import { DataSourcePlugin } from '@grafana/data';
import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { WiretraceDataSource } from './datasource';
import type { WiretraceOptions, WiretraceQuery, WiretraceSecureOptions } from './types';

export const plugin = new DataSourcePlugin<WiretraceDataSource, WiretraceQuery, WiretraceOptions, WiretraceSecureOptions>(WiretraceDataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
